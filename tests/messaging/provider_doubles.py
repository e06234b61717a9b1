"""Test doubles of the SMS and email provider *adapters* (Contract B of docs/messaging.md).

The code under test is Hangar's (records, claims, retries, templates, MFA); the providers are
replaced at their seam, the HANGAR_MESSAGING_PROVIDERS module, or passed explicitly as
``providers=`` to ``hangar.messaging.sends.message_deliver``. Every call is recorded; the
outcomes are scripted. The real adapters are tested against their local protocol servers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.mail import EmailMultiAlternatives

from hangar.messaging.adapters.base import DeliveryOutcome, EmailMessage, SmsMessage


@dataclass
class Recorded:
    app_pk: int
    message: SmsMessage | EmailMessage


@dataclass
class ProviderDouble:
    """Records what it is asked to send and answers the scripted outcomes (then "sent")."""

    sent: list[Recorded] = field(default_factory=list)
    script: list[DeliveryOutcome | Exception] = field(default_factory=list)
    # Email also through Django's mail backend: the test settings' locmem outbox, or a real SMTP
    # conversation when a test points EMAIL_* at a local server (tests/identity/test_email_flows.py).
    email_through_django: bool = True

    def _answer(self) -> DeliveryOutcome:
        if self.script:
            scripted = self.script.pop(0)
            if isinstance(scripted, Exception):
                raise scripted
            return scripted
        return DeliveryOutcome.sent(f"double-{len(self.sent)}")

    async def sms_provider_for(self, *, app_pk: int) -> _Sms:
        return _Sms(self, app_pk)

    async def email_provider_for(self, *, app_pk: int) -> _Email:
        return _Email(self, app_pk)


@dataclass
class _Sms:
    double: ProviderDouble
    app_pk: int
    name: str = "double-sms"

    async def send_sms(self, message: SmsMessage) -> DeliveryOutcome:
        self.double.sent.append(Recorded(self.app_pk, message))
        return self.double._answer()

    async def aclose(self) -> None:
        return None


@dataclass
class _Email:
    double: ProviderDouble
    app_pk: int
    name: str = "double-email"

    async def send_email(self, message: EmailMessage) -> DeliveryOutcome:
        self.double.sent.append(Recorded(self.app_pk, message))
        if self.double.email_through_django:
            mail = EmailMultiAlternatives(
                message.subject, message.text, message.sender or None, message.to, headers=message.headers,
                reply_to=[message.reply_to] if message.reply_to else None,
            )  # fmt: skip
            if message.html:
                mail.attach_alternative(message.html, "text/html")
            mail.send()
        return self.double._answer()

    async def aclose(self) -> None:
        return None


# The module-level seam (settings.HANGAR_MESSAGING_PROVIDERS = "tests.messaging.provider_doubles"):
# tests reset ``DOUBLE`` through the ``providers`` fixture.
DOUBLE = ProviderDouble()


async def sms_provider_for(*, app_pk: int) -> _Sms:
    return await DOUBLE.sms_provider_for(app_pk=app_pk)


async def email_provider_for(*, app_pk: int) -> _Email:
    return await DOUBLE.email_provider_for(app_pk=app_pk)
