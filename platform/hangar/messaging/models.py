"""Messaging tables: campaigns and their deliveries, provider credentials, templates."""

from __future__ import annotations
