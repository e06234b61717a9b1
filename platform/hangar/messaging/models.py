"""Messaging tables: campaigns and their deliveries, provider credentials, templates."""

from __future__ import annotations

from hangar.messaging.sms_email_models import Message, MessageTemplate, SenderSettings  # noqa: F401
