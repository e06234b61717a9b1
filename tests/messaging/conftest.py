"""Fixtures for messaging tests: Parse requests against two apps (tests.datastore.conftest's)."""

from __future__ import annotations

from tests.datastore.conftest import ParseApp, app_a, app_b

__all__ = ["ParseApp", "app_a", "app_b"]
