"""SMS and email from the control plane: sends, templates, sender settings and the message log of an app.

The work is hangar.messaging's (sends, message_templates); this layer checks the developer's
role on the app, maps messaging's errors to the management API's and records audit events
(never a message's body: it goes to the app's users, not to the audit log).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from hangar.messaging import message_templates, sends
from hangar.messaging.sends import MessageRejectedError, RenderedMessage
from hangar.messaging.sms_email_models import Message, MessageTemplate, SenderSettings
from tenants.audit import audit_record
from tenants.errors import NotFoundError, SendsThrottledError, ValidationFailedError
from tenants.models import App, Developer, Organization
from tenants.roles import Permission
from tenants.services.access import membership_require

T = TypeVar("T")


def _app_for(actor: Developer, organization: Organization, app_pk: int) -> App:
    membership_require(actor=actor, organization=organization, permission=Permission.MANAGE_MESSAGING)
    app = organization.apps.filter(pk=app_pk, status=App.Status.ACTIVE).first()
    if app is None:
        raise NotFoundError("App not found.")
    return app


def _mapped(work: Callable[[], T]) -> T:
    try:
        return work()
    except MessageRejectedError as exc:
        if exc.code == "not_found":
            raise NotFoundError(exc.message) from exc
        if exc.code == "throttled":
            raise SendsThrottledError(exc.message) from exc
        raise ValidationFailedError(exc.message) from exc


def message_send(
    *, actor: Developer, organization: Organization, app_pk: int, channel: str, data: dict[str, Any]
) -> Message:
    """Send one SMS or email now (recorded, delivered by a task)."""
    app = _app_for(actor, organization, app_pk)
    if channel == "sms":
        message = _mapped(lambda: sends.sms_send(app_pk=app.pk, source="api", **data))
    else:
        message = _mapped(lambda: sends.email_send(app_pk=app.pk, source="api", **data))
    audit_record(
        actor=actor, organization=organization, action=f"messaging.{channel}_send", target_type="app",
        target_id=app.application_id, target_name=app.name,
        details={"message": message.pk, "template": message.template_name, "recipients": len(message.to)},
    )  # fmt: skip
    return message


def message_list(
    *, actor: Developer, organization: Organization, app_pk: int, channel: str | None, limit: int
) -> list[Message]:
    app = _app_for(actor, organization, app_pk)
    return message_templates.message_list(app_pk=app.pk, channel=channel, limit=limit)


def message_get(*, actor: Developer, organization: Organization, app_pk: int, message_id: int) -> Message:
    app = _app_for(actor, organization, app_pk)
    return _mapped(lambda: message_templates.message_get(app_pk=app.pk, message_id=message_id))


def template_list(*, actor: Developer, organization: Organization, app_pk: int) -> list[MessageTemplate]:
    app = _app_for(actor, organization, app_pk)
    return message_templates.template_list(app_pk=app.pk)


def template_get(
    *, actor: Developer, organization: Organization, app_pk: int, channel: str, name: str
) -> MessageTemplate:
    app = _app_for(actor, organization, app_pk)
    return _mapped(lambda: message_templates.template_get(app_pk=app.pk, channel=channel, name=name))


def template_save(
    *, actor: Developer, organization: Organization, app_pk: int, channel: str, name: str, values: dict[str, str]
) -> MessageTemplate:
    app = _app_for(actor, organization, app_pk)
    template = _mapped(lambda: message_templates.template_save(app_pk=app.pk, channel=channel, name=name, **values))
    audit_record(
        actor=actor, organization=organization, action="messaging.template_save", target_type="app",
        target_id=app.application_id, target_name=app.name, details={"channel": channel, "template": name},
    )  # fmt: skip
    return template


def template_delete(*, actor: Developer, organization: Organization, app_pk: int, channel: str, name: str) -> None:
    app = _app_for(actor, organization, app_pk)
    _mapped(lambda: message_templates.template_delete(app_pk=app.pk, channel=channel, name=name))
    audit_record(
        actor=actor, organization=organization, action="messaging.template_delete", target_type="app",
        target_id=app.application_id, target_name=app.name, details={"channel": channel, "template": name},
    )  # fmt: skip


def template_preview(
    *, actor: Developer, organization: Organization, app_pk: int, channel: str, data: dict[str, Any]
) -> RenderedMessage:
    app = _app_for(actor, organization, app_pk)
    return _mapped(lambda: message_templates.template_preview(app_pk=app.pk, channel=channel, **data))


def sender_settings_get(*, actor: Developer, organization: Organization, app_pk: int) -> SenderSettings:
    app = _app_for(actor, organization, app_pk)
    return message_templates.sender_settings_get(app_pk=app.pk)


def sender_settings_update(
    *, actor: Developer, organization: Organization, app_pk: int, values: dict[str, str]
) -> SenderSettings:
    app = _app_for(actor, organization, app_pk)
    row = _mapped(lambda: message_templates.sender_settings_update(app_pk=app.pk, values=values))
    audit_record(
        actor=actor, organization=organization, action="messaging.sender_settings", target_type="app",
        target_id=app.application_id, target_name=app.name, details={"fields": sorted(values)},
    )  # fmt: skip
    return row
