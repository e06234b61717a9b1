"""A provider *adapter* double for tests that run Hangar in other processes (a real Celery worker).

Set HANGAR_MESSAGING_PROVIDERS=tests.messaging.recording_provider and HANGAR_TEST_PROVIDER_LOG
to a file: every SMS or email it is asked to send is appended there (one line, flushed to disk
before anything else), so the test counts sends across worker restarts. A message whose
text starts with ``hold`` keeps the call open for HANGAR_TEST_PROVIDER_HOLD_SECONDS: a worker
can be killed in the middle of a provider call.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass

from hangar.messaging.adapters.base import DeliveryOutcome, EmailMessage, SmsMessage


def _record(line: str) -> None:
    with open(os.environ["HANGAR_TEST_PROVIDER_LOG"], "a", encoding="utf-8") as log:
        log.write(line.replace("\n", " ") + "\n")
        log.flush()
        os.fsync(log.fileno())


async def _hold(text: str) -> None:
    if text.startswith("hold"):
        await asyncio.sleep(float(os.environ.get("HANGAR_TEST_PROVIDER_HOLD_SECONDS", "60")))


@dataclass
class RecordingSms:
    app_pk: int
    name: str = "recording-sms"

    async def send_sms(self, message: SmsMessage) -> DeliveryOutcome:
        _record(f"sms {self.app_pk} {message.to} {message.body}")
        await _hold(message.body)
        return DeliveryOutcome.sent()

    async def aclose(self) -> None:
        return None


@dataclass
class RecordingEmail:
    app_pk: int
    name: str = "recording-email"

    async def send_email(self, message: EmailMessage) -> DeliveryOutcome:
        _record(f"email {self.app_pk} {','.join(message.to)} {message.text}")
        await _hold(message.text)
        return DeliveryOutcome.sent()

    async def aclose(self) -> None:
        return None


async def sms_provider_for(*, app_pk: int) -> RecordingSms:
    return RecordingSms(app_pk)


async def email_provider_for(*, app_pk: int) -> RecordingEmail:
    return RecordingEmail(app_pk)
