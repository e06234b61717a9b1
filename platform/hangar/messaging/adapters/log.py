"""The log provider: records what would have been sent instead of sending it.

An app without credentials for a channel gets it, so a fresh deployment can exercise pushes,
SMS and email and see them in the dashboard ("Sent by the log provider"). Storing a record
needs the app, which an adapter must not know: ``hangar.messaging.providers`` hands it a
``recorder`` bound to the app.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from hangar.messaging.adapters.base import DeliveryOutcome, EmailMessage, PushNotification, PushTarget, SmsMessage

Recorder = Callable[[str, str, dict[str, Any]], Awaitable[None]]  # (channel, recipient, content)


class LogProvider:
    """One provider for every channel (push, SMS, email); each message is one record."""

    name = "log"

    def __init__(self, *, recorder: Recorder) -> None:
        self._record = recorder

    async def send_push(self, notification: PushNotification, targets: list[PushTarget]) -> list[DeliveryOutcome]:
        outcomes = []
        for target in targets:
            content: dict[str, Any] = {
                "data": notification.data, "push_id": notification.push_id, "device_type": target.device_type,
                "installation": target.installation_object_id, "badge": target.badge,
                "expiration": notification.expiration.isoformat() if notification.expiration else None,
            }  # fmt: skip
            await self._record("push", target.device_token[:200], content)
            outcomes.append(DeliveryOutcome.sent(f"log-{uuid.uuid4().hex}"))
        return outcomes

    async def send_sms(self, message: SmsMessage) -> DeliveryOutcome:
        await self._record("sms", message.to, {"body": message.body, "sender": message.sender})
        return DeliveryOutcome.sent(f"log-{uuid.uuid4().hex}")

    async def send_email(self, message: EmailMessage) -> DeliveryOutcome:
        content = {
            "subject": message.subject, "text": message.text, "html": message.html, "sender": message.sender,
            "reply_to": message.reply_to,
        }  # fmt: skip
        await self._record("email", ", ".join(message.to), content)
        return DeliveryOutcome.sent(f"log-{uuid.uuid4().hex}")

    async def aclose(self) -> None:
        return None
