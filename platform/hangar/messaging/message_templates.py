"""An app's message templates and sender settings: services (writes), selectors (reads) and the preview."""

from __future__ import annotations

import re
from typing import Any

from django.db import IntegrityError, transaction

from hangar.messaging.sends import MessageRejectedError, RenderedMessage, context_checked, template_rendered
from hangar.messaging.sms_email_models import Channel, Message, MessageTemplate, SenderSettings
from hangar.messaging.template_sandbox import TemplateRenderError, template_check

TEMPLATE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


def _checked(channel: str, name: str, subject: str, text: str, html: str) -> None:
    if channel not in Channel.values:
        raise MessageRejectedError("channel must be sms or email")
    if not TEMPLATE_NAME.match(name):
        raise MessageRejectedError("a template name is 1 to 100 letters, digits, '_', '.' or '-'")
    if not text.strip() and not (channel == Channel.EMAIL and html.strip()):
        raise MessageRejectedError("a template needs a text body" + (" or html" if channel == Channel.EMAIL else ""))
    if channel == Channel.EMAIL and not subject.strip():
        raise MessageRejectedError("an email template needs a subject")
    if channel == Channel.SMS and (subject or html):
        raise MessageRejectedError("an SMS template has only a text body")
    try:
        template_check(subject)
        template_check(text)
        template_check(html, html=True)
    except TemplateRenderError as exc:
        raise MessageRejectedError(str(exc)) from exc


def template_save(
    *, app_pk: int, channel: str, name: str, subject: str = "", text: str = "", html: str = ""
) -> MessageTemplate:
    """Create or replace the app's ``channel`` template called ``name`` (checked: it must parse in the sandbox)."""
    _checked(channel, name, subject, text, html)
    try:
        with transaction.atomic():
            template, _ = MessageTemplate.objects.update_or_create(
                app_id=app_pk, channel=channel, name=name, defaults={"subject": subject, "text": text, "html": html}
            )
    except IntegrityError:  # two first saves of one name raced: the other one won, this one replaces it
        template = MessageTemplate.objects.get(app_id=app_pk, channel=channel, name=name)
        template.subject, template.text, template.html = subject, text, html
        template.save()
    return template


def template_delete(*, app_pk: int, channel: str, name: str) -> None:
    deleted, _ = MessageTemplate.objects.filter(app_id=app_pk, channel=channel, name=name).delete()
    if not deleted:
        raise MessageRejectedError(f"no {channel} template named {name!r}", code="not_found")


def template_list(*, app_pk: int) -> list[MessageTemplate]:
    return list(MessageTemplate.objects.filter(app_id=app_pk).order_by("channel", "name"))


def template_get(*, app_pk: int, channel: str, name: str) -> MessageTemplate:
    found = MessageTemplate.objects.filter(app_id=app_pk, channel=channel, name=name).first()
    if found is None:
        raise MessageRejectedError(f"no {channel} template named {name!r}", code="not_found")
    return found


def template_preview(
    *, app_pk: int, channel: str, name: str | None = None, context: Any = None,
    subject: str = "", text: str = "", html: str = "",
) -> RenderedMessage:  # fmt: skip
    """Render a saved template (``name``) or unsaved source with a sample context; nothing is sent or stored."""
    if name:
        template = template_get(app_pk=app_pk, channel=channel, name=name)
    else:
        _checked(channel, "preview", subject, text, html)
        template = MessageTemplate(channel=channel, name="preview", subject=subject, text=text, html=html)
    return template_rendered(template, context_checked(context))


def sender_settings_get(*, app_pk: int) -> SenderSettings:
    return SenderSettings.objects.filter(app_id=app_pk).first() or SenderSettings(app_id=app_pk)


def sender_settings_update(*, app_pk: int, values: dict[str, str]) -> SenderSettings:
    allowed = {"email_from_name", "email_from_address", "email_reply_to", "sms_sender_id"}
    unknown = set(values) - allowed
    if unknown:
        raise MessageRejectedError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    sender_id = values.get("sms_sender_id", "")
    if sender_id and not re.fullmatch(r"\+[1-9][0-9]{6,14}|[A-Za-z0-9 ]{1,11}", sender_id):
        raise MessageRejectedError("sms_sender_id is an E.164 number or 1 to 11 letters and digits")
    if "\n" in values.get("email_from_name", "") or "\r" in values.get("email_from_name", ""):
        raise MessageRejectedError("email_from_name is one line")
    row, _ = SenderSettings.objects.update_or_create(app_id=app_pk, defaults=values)
    return row


def message_list(*, app_pk: int, channel: str | None = None, limit: int = 50) -> list[Message]:
    """The app's most recent messages, newest first."""
    rows = Message.objects.filter(app_id=app_pk)
    if channel:
        rows = rows.filter(channel=channel)
    return list(rows.order_by("-created_at", "-pk")[: max(1, min(limit, 200))])


def message_get(*, app_pk: int, message_id: int) -> Message:
    found = Message.objects.filter(app_id=app_pk, pk=message_id).first()
    if found is None:
        raise MessageRejectedError("message not found", code="not_found")
    return found
