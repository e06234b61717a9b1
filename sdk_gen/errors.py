"""Errors of SDK generation (mapped to DRF answers by the management API, to messages by the dashboard)."""

from __future__ import annotations

from tenants.errors import TenantsError


class UnknownLanguageError(TenantsError):
    code = "unknown_language"
    status = 400
