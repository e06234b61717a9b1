"""The SMTP adapter against an aiosmtpd server: the MIME message, authentication, refusals."""

from __future__ import annotations

import email
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from hangar.messaging.adapters.base import EmailMessage, OutcomeKind
from hangar.messaging.adapters.smtp import SmtpEmailProvider
from tests.conftest import _free_port

pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS"),  # plain SMTP on loopback
]


class Mailbox:
    def __init__(self) -> None:
        self.envelopes: list[tuple[str, list[str], bytes]] = []

    async def handle_RCPT(
        self, server: Any, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 No such user"
        if address.startswith("later@"):
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_MAIL(
        self, server: Any, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address.startswith("blocked@"):
            return "553 5.7.1 Sender not allowed"
        envelope.mail_from = address
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        self.envelopes.append((str(envelope.mail_from), list(envelope.rcpt_tos), bytes(envelope.content)))  # type: ignore[arg-type]
        return "250 Message accepted"


def _authenticator(server: Any, session: Session, envelope: Envelope, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"mailer", b"s3cret")
    return AuthResult(success=ok)


@pytest.fixture
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = _free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, authenticator=_authenticator,
                            auth_require_tls=False, auth_required=True,
                            auth_exclude_mechanism=["LOGIN"])  # fmt: skip
    controller.start()
    yield mailbox, port
    controller.stop()


def provider(port: int, **kwargs: Any) -> SmtpEmailProvider:
    options = {
        "username": "mailer",
        "password": "s3cret",
        "security": "none",
        "sender": "App <app@example.com>",
        **kwargs,
    }
    return SmtpEmailProvider(host="127.0.0.1", port=port, timeout=5, **options)


async def test_a_mail_is_delivered_with_its_headers_and_both_parts(smtp_server: tuple[Mailbox, int]) -> None:
    mailbox, port = smtp_server
    message = EmailMessage(to=["a@example.org", "b@example.org"], subject="Hi", text="plain", html="<b>html</b>",
                           reply_to="r@example.com")  # fmt: skip
    outcome = await provider(port).send_email(message)
    assert outcome.kind is OutcomeKind.SENT
    [(mail_from, rcpts, content)] = mailbox.envelopes
    assert (mail_from, rcpts) == ("app@example.com", ["a@example.org", "b@example.org"])
    parsed = email.message_from_bytes(content)
    assert parsed["Subject"] == "Hi"
    assert parsed["Reply-To"] == "r@example.com"
    assert parsed["Message-ID"] == outcome.provider_message_id
    assert {p.get_content_type() for p in parsed.walk()} >= {"text/plain", "text/html"}


async def test_refusals_map_to_invalid_address_retry_and_failure(smtp_server: tuple[Mailbox, int]) -> None:
    mailbox, port = smtp_server
    gone = await provider(port).send_email(EmailMessage(to=["nobody@example.org"], subject="s", text="t"))
    assert (gone.kind, gone.error) == (OutcomeKind.INVALID_TOKEN, "smtp 550")
    later = await provider(port).send_email(EmailMessage(to=["later@example.org"], subject="s", text="t"))
    assert (later.kind, later.error) == (OutcomeKind.RETRY, "smtp 451")
    denied = await provider(port, sender="blocked@example.com").send_email(
        EmailMessage(to=["a@example.org"], subject="s", text="t")
    )
    assert (denied.kind, denied.error) == (OutcomeKind.FAILED, "smtp 553")
    assert mailbox.envelopes == []


async def test_a_server_that_is_not_there_is_retried() -> None:
    outcome = await provider(_free_port()).send_email(EmailMessage(to=["a@example.org"], subject="s", text="t"))
    assert outcome.kind is OutcomeKind.RETRY
