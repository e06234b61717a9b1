"""SMS and email sends: validate, render, record, then deliver exactly once (docs/messaging.md "SMS and email").

A send is first a ``Message`` row (status ``queued``) written in the caller's transaction; the
delivery task is queued once that transaction commits. The task *claims* the row (one
conditional update, ``queued`` → ``sending``) before it calls the provider, so the row's id is
the idempotency key of the send: a task delivered twice (a worker killed after the call, a
broker redelivery) finds the row claimed and sends nothing. The residual ambiguity is the one
every at-most-once sender has: a worker lost *during* the provider call leaves the row in
``sending``; whether the provider accepted the message is unknown, so it is not sent again, and
once the claim is older than the task's deadline the row is marked ``failed`` with the error
``outcome unknown``.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from importlib import import_module
from typing import Any

from asgiref.sync import async_to_sync
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from hangar.messaging.adapters.base import DeliveryOutcome, EmailMessage, OutcomeKind, SmsMessage
from hangar.messaging.sms_email_models import Channel, Message, MessageStatus, MessageTemplate, SenderSettings
from hangar.messaging.template_sandbox import TemplateRenderError, template_render

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
MAX_SMS_CHARS = 1600  # ten concatenated segments: Twilio's own limit for one message
MAX_EMAIL_RECIPIENTS = 50
MAX_CONTEXT_BYTES = 64 * 1024
# The delivery task's time limit (send_tasks): a claim older than this was lost with its worker.
DELIVERY_DEADLINE_SECONDS = 120
_STALE_CLAIM = timedelta(seconds=2 * DELIVERY_DEADLINE_SECONDS)
_UNKNOWN = "outcome unknown: the worker stopped during the provider call; not sent again (at most once)"


# What a cloud function's send_sms / send_email may pass (hangar.cloudcode.data_calls).
CLOUD_SEND_FIELDS = {
    "sms": ("to", "template", "context", "body"),
    "email": ("to", "template", "context", "subject", "text", "html"),
}


class MessageRejectedError(Exception):
    """A send or template the caller must fix; ``code`` is ``invalid``, ``not_found`` or ``throttled``."""

    def __init__(self, message: str, *, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    text: str
    html: str


def template_rendered(template: MessageTemplate, context: dict[str, Any]) -> RenderedMessage:
    """``template`` rendered with ``context`` in the sandbox; MessageRejectedError when it fails."""
    try:
        return RenderedMessage(
            subject=" ".join(template_render(template.subject, context).split()),  # one line: a header
            text=template_render(template.text, context),
            html=template_render(template.html, context, html=True) if template.html else "",
        )
    except TemplateRenderError as exc:
        raise MessageRejectedError(f"template {template.name!r}: {exc}") from exc


def _template_get(app_pk: int, channel: str, name: str) -> MessageTemplate:
    found = MessageTemplate.objects.filter(app_id=app_pk, channel=channel, name=name).first()
    if found is None:
        raise MessageRejectedError(f"no {channel} template named {name!r}", code="not_found")
    return found


def app_template_render(*, app_pk: int, channel: str, name: str, context: dict[str, Any]) -> RenderedMessage | None:
    """The app's own ``name`` template rendered with ``context``, or None when it has none (or it does not
    render: a platform message such as a sign-in code must still go out, in its default words)."""
    template = MessageTemplate.objects.filter(app_id=app_pk, channel=channel, name=name).first()
    if template is None:
        return None
    try:
        return template_rendered(template, context)
    except MessageRejectedError:
        return None


def sms_sender(app_pk: int) -> str:
    found = SenderSettings.objects.filter(app_id=app_pk).first()
    return found.sms_sender_id if found else ""


def context_checked(context: Any) -> dict[str, Any]:
    """The send's context: a JSON object of at most MAX_CONTEXT_BYTES (None: empty)."""
    if context is None:
        return {}
    if not isinstance(context, dict):
        raise MessageRejectedError("context must be an object")
    if len(json.dumps(context, default=str)) > MAX_CONTEXT_BYTES:
        raise MessageRejectedError(f"context is larger than {MAX_CONTEXT_BYTES} bytes")
    return context


def phone_number_check(to: Any) -> str:
    if not isinstance(to, str) or not E164.match(to):
        raise MessageRejectedError("to must be a phone number in E.164 form, like +14155550100")
    return to


def _addresses_check(to: Any) -> list[str]:
    addresses = [to] if isinstance(to, str) else to
    if not isinstance(addresses, list) or not addresses or len(addresses) > MAX_EMAIL_RECIPIENTS:
        raise MessageRejectedError(f"to must be an email address or a list of 1 to {MAX_EMAIL_RECIPIENTS}")
    for address in addresses:
        try:
            validate_email(address)
        except (ValidationError, TypeError) as exc:
            raise MessageRejectedError(f"{address!r} is not an email address") from exc
    return list(addresses)


def send_rate_key(app_pk: int) -> str:
    return f"messaging:sends:{app_pk}:{int(timezone.now().timestamp() // 60)}"


def send_rate_check(app_pk: int) -> None:
    """Refuse a send past the app's per-minute budget (HANGAR_MESSAGING_SENDS_PER_MINUTE): a loop in a
    cloud function must not spend the app's SMS bill or its sender reputation in a minute."""
    limit = settings.HANGAR_MESSAGING_SENDS_PER_MINUTE
    if not limit:
        return
    key = send_rate_key(app_pk)
    cache.add(key, 0, timeout=120)
    if cache.incr(key) > limit:
        raise MessageRejectedError(f"more than {limit} messages this minute; try again in a minute", code="throttled")


def _record(app_pk: int, **fields: Any) -> Message:
    """Write the message and queue its delivery once the transaction commits."""
    message = Message.objects.create(app_id=app_pk, **fields)
    transaction.on_commit(lambda: message_enqueue(message_id=message.pk))
    return message


def message_enqueue(*, message_id: int) -> None:
    from hangar.messaging.send_tasks import message_deliver_task

    message_deliver_task.delay(message_id=message_id)


def sms_send(
    *, app_pk: int, to: Any, template: str | None = None, context: Any = None, body: Any = None, source: str = "api"
) -> Message:
    """Record an SMS (a template with its context, or a plain ``body``) and queue its delivery."""
    number = phone_number_check(to)
    context = context_checked(context)
    if template:
        text = template_rendered(_template_get(app_pk, Channel.SMS, template), context).text
    elif isinstance(body, str) and body.strip():
        text = body
    else:
        raise MessageRejectedError("give a template name or a non-empty body")
    if len(text) > MAX_SMS_CHARS:
        raise MessageRejectedError(f"the SMS is longer than {MAX_SMS_CHARS} characters")
    send_rate_check(app_pk)
    sender = SenderSettings.objects.filter(app_id=app_pk).first()
    with transaction.atomic():
        return _record(
            app_pk, channel=Channel.SMS, source=source, to=[number], text=text, template_name=template or "",
            sender=sender.sms_sender_id if sender else "",
        )  # fmt: skip


def email_sender(app_pk: int) -> tuple[str, str]:
    """The app's ``From`` ("Name <address>", or "" for the provider's default) and ``Reply-To``."""
    found = SenderSettings.objects.filter(app_id=app_pk).first()
    if found is None or not found.email_from_address:
        return "", found.email_reply_to if found else ""
    name = found.email_from_name.replace('"', "")
    sender = f'"{name}" <{found.email_from_address}>' if name else found.email_from_address
    return sender, found.email_reply_to


def email_send(
    *, app_pk: int, to: Any, template: str | None = None, context: Any = None,
    subject: Any = None, text: Any = None, html: Any = None, source: str = "api",
) -> Message:  # fmt: skip
    """Record an email (a template with its context, or subject with text and/or html) and queue its delivery."""
    addresses = _addresses_check(to)
    context = context_checked(context)
    if template:
        rendered = template_rendered(_template_get(app_pk, Channel.EMAIL, template), context)
    else:
        if not isinstance(subject, str) or not subject.strip():
            raise MessageRejectedError("give a template name, or a subject with text or html")
        if not (isinstance(text, str) and text) and not (isinstance(html, str) and html):
            raise MessageRejectedError("give text or html")
        rendered = RenderedMessage(subject=" ".join(subject.split()), text=text or "", html=html or "")
    if not rendered.subject:
        raise MessageRejectedError("the subject is empty")
    send_rate_check(app_pk)
    sender, reply_to = email_sender(app_pk)
    with transaction.atomic():
        return _record(
            app_pk, channel=Channel.EMAIL, source=source, to=addresses, subject=rendered.subject[:500],
            text=rendered.text, html=rendered.html, template_name=template or "", sender=sender, reply_to=reply_to,
        )  # fmt: skip


def message_send_once(*, app_pk: int, idempotency_key: str, **fields: Any) -> Message:
    """Record a message under the caller's own key, unless one with that key exists (then that one).

    Identity's mails and MFA codes come from tasks and requests that may run twice; the key
    (the token's digest, the code's nonce) makes the second run find the first message.
    """
    try:
        with transaction.atomic():
            return _record(app_pk, idempotency_key=idempotency_key, **fields)
    except IntegrityError:
        found = Message.objects.get(app_id=app_pk, idempotency_key=idempotency_key)
    if found.status == MessageStatus.QUEUED:
        # The first run may have died between its commit and queueing the delivery: queue it (again);
        # a second delivery task finds the message claimed and sends nothing.
        transaction.on_commit(lambda: message_enqueue(message_id=found.pk))
    return found


# Delivery --------------------------------------------------------------------------------


def providers_module() -> Any:
    """The module answering ``sms_provider_for`` / ``email_provider_for`` (HANGAR_MESSAGING_PROVIDERS)."""
    return import_module(settings.HANGAR_MESSAGING_PROVIDERS)


def _claim(message_id: int) -> Message | None:
    """The message, now ``sending`` and ours; None when another delivery has it (or had it)."""
    now = timezone.now()
    claimed = Message.objects.filter(pk=message_id, status=MessageStatus.QUEUED).update(
        status=MessageStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1
    )
    if claimed:
        return Message.objects.get(pk=message_id)
    # A claim left by a worker that died mid-call: say so, never resend.
    Message.objects.filter(pk=message_id, status=MessageStatus.SENDING, claimed_at__lt=now - _STALE_CLAIM).update(
        status=MessageStatus.FAILED, error=_UNKNOWN, finished_at=now, text="", html=""
    )
    return None


async def _provider_call(message: Message, providers: Any) -> tuple[str, DeliveryOutcome]:
    if message.channel == Channel.SMS:
        sms = await providers.sms_provider_for(app_pk=message.app_id)
        sent = await sms.send_sms(SmsMessage(to=message.to[0], body=message.text, sender=message.sender))
        return sms.name, sent
    email = await providers.email_provider_for(app_pk=message.app_id)
    outcome = await email.send_email(
        EmailMessage(
            to=list(message.to), subject=message.subject, text=message.text, html=message.html or None,
            sender=message.sender, reply_to=message.reply_to or None,
            # The record's id travels with the mail: a provider or a mailbox can spot a duplicate.
            headers={"X-Hangar-Message-Id": str(message.pk)},
        )
    )  # fmt: skip
    return email.name, outcome


def _finish(message: Message, provider: str, outcome: DeliveryOutcome, retry_later: bool) -> None:
    fields: dict[str, Any] = {"provider": provider, "error": (outcome.error or "")[:500]}
    if outcome.kind == OutcomeKind.SENT:
        fields.update(status=MessageStatus.SENT, provider_message_id=(outcome.provider_message_id or "")[:200])
    elif retry_later:
        fields.update(status=MessageStatus.QUEUED)  # the provider did not take it: a later try may send it
    else:
        fields.update(status=MessageStatus.FAILED)
    if fields["status"] != MessageStatus.QUEUED:
        fields["finished_at"] = timezone.now()
        if message.sensitive:
            fields.update(text="", html="")  # a sign-in code or a reset link is kept no longer than needed
    Message.objects.filter(pk=message.pk, status=MessageStatus.SENDING).update(**fields)


def message_deliver(*, message_id: int, providers: Any = None) -> float | None:
    """Deliver one recorded message at most once; the seconds to wait before another try, or None when done.

    ``providers`` is the module (or any object) with ``sms_provider_for`` / ``email_provider_for``;
    by default HANGAR_MESSAGING_PROVIDERS.
    """
    message = _claim(message_id)
    if message is None:
        return None
    try:
        provider, outcome = _run(lambda: _provider_call(message, providers or providers_module()))
    except Exception as exc:
        provider, outcome = "", DeliveryOutcome(OutcomeKind.FAILED, error=f"provider error (outcome unknown): {exc!r}")
    retry_later = outcome.kind == OutcomeKind.RETRY and message.attempts < settings.HANGAR_MESSAGING_MAX_ATTEMPTS
    _finish(message, provider, outcome, retry_later)
    if not retry_later:
        return None
    return outcome.retry_after_seconds or float(min(600, 10 * 2 ** (message.attempts - 1)))


def _run(work: Callable[[], Any]) -> Any:
    """Run the provider call from this synchronous task, bounded by the deadline.

    ``async_to_sync`` (not ``asyncio.run``): the providers' own database reads (``sync_to_async``
    ORM calls) then come back to this thread and its connection, as the rest of the task's work.
    """

    async def bounded() -> Any:
        return await asyncio.wait_for(work(), timeout=DELIVERY_DEADLINE_SECONDS - 10)

    return async_to_sync(bounded)()
