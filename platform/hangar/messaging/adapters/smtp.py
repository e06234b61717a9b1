"""Email through an SMTP server the app (or the operator) configured, with aiosmtplib.

Reply codes (RFC 5321 §4.2): a 5xx refusal of every recipient means the address will never
take mail; 4xx and connection trouble are worth a retry; a refused login is a failure.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import aiosmtplib

from hangar.egress import EgressError
from hangar.messaging.adapters.base import DeliveryOutcome, EmailMessage, OutcomeKind
from hangar.messaging.adapters.mime import mime_message


class SmtpEmailProvider:
    name = "smtp"

    def __init__(
        self, *, host: str, port: int, sender: str, username: str = "", password: str = "",
        security: str = "starttls", timeout: float = 10.0,
        host_check: Callable[[str, int], Awaitable[None]] | None = None,
    ) -> None:  # fmt: skip
        self._host = host
        self._port = port
        self._sender = sender
        self._username = username
        self._password = password
        self._security = security  # "tls" (implicit, port 465), "starttls" (when offered), "none"
        self._timeout = timeout
        # An app-chosen server is judged by the egress address policy before each connection
        # (SMTP cannot go through the HTTP egress path); the operator's own server is not.
        self._host_check = host_check

    async def send_email(self, message: EmailMessage) -> DeliveryOutcome:
        if not message.to:
            return DeliveryOutcome(OutcomeKind.FAILED, error="no recipient")
        mime = mime_message(message, default_sender=self._sender)
        if self._host_check is not None:
            try:
                await self._host_check(self._host, self._port)
            except EgressError as exc:
                kind = OutcomeKind.RETRY if exc.retryable else OutcomeKind.FAILED
                return DeliveryOutcome(kind, error=f"egress: {exc.__class__.__name__}")
        try:
            async with asyncio.timeout(self._timeout):
                await aiosmtplib.send(
                    mime, hostname=self._host, port=self._port, username=self._username or None,
                    password=self._password or None, use_tls=self._security == "tls",
                    start_tls=True if self._security == "starttls" else False if self._security == "none" else None,
                    timeout=self._timeout,
                )  # fmt: skip
        except aiosmtplib.SMTPRecipientsRefused as exc:
            return _refused([(r.code, r.message) for r in exc.recipients])
        except aiosmtplib.SMTPAuthenticationError as exc:
            return DeliveryOutcome(OutcomeKind.FAILED, error=f"smtp {exc.code} authentication")
        except aiosmtplib.SMTPResponseException as exc:
            kind = OutcomeKind.RETRY if 400 <= exc.code < 500 else OutcomeKind.FAILED
            return DeliveryOutcome(kind, error=f"smtp {exc.code}")
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return DeliveryOutcome(OutcomeKind.RETRY, error=f"smtp {exc.__class__.__name__}")
        return DeliveryOutcome.sent(str(mime["Message-ID"]))

    async def aclose(self) -> None:
        return None


def _refused(replies: list[tuple[int, str]]) -> DeliveryOutcome:
    codes = [code for code, _ in replies]
    if codes and all(400 <= code < 500 for code in codes):
        return DeliveryOutcome(OutcomeKind.RETRY, error=f"smtp {codes[0]}")
    return DeliveryOutcome(OutcomeKind.INVALID_TOKEN, error=f"smtp {codes[0] if codes else 550}")
