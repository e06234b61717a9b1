"""Register, change and list an app's webhooks (Parse's ``/hooks`` API, reference: Parse Server's HooksRouter).

A webhook's URL is judged by the egress policy when it is registered (docs/egress.md), and
again by ``hangar.egress`` on every call, since a name may resolve elsewhere later. Every
change bumps the app's version after commit, so every process serves the new set of
webhooks from its next request on (hangar.admission reloads the app).

Errors are Parse's 143 (``WEBHOOK_ERROR``) with Parse Server's messages.
"""

from __future__ import annotations

import re
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import IntegrityError, transaction

from hangar.cloudcode.models import CloudWebhook
from hangar.egress import EgressError, egress_check
from hangar.invalidation import publish_app_changed_on_commit
from hangar.parse_errors import WEBHOOK_ERROR, ParseError

# The triggers Hangar's data path runs (hangar.cloudcode.triggers); Parse's other kinds
# (beforeLogin, beforeConnect...) would register a webhook that never fires, so they are refused.
WEBHOOK_TRIGGERS = frozenset({"beforeSave", "afterSave", "beforeDelete", "afterDelete", "beforeFind", "afterFind"})
MAX_WEBHOOKS_PER_APP = 500  # all of them are loaded with the app on every process
_NAME_MAX = 128
_URL_MAX = 2048
_CLASS_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")


def _invalid(message: str = "invalid hook declaration") -> ParseError:
    return ParseError(WEBHOOK_ERROR, message)


def _as_wire(hook: CloudWebhook) -> dict[str, Any]:
    if hook.kind == CloudWebhook.KIND_FUNCTION:
        return {"functionName": hook.function_name, "url": hook.url}
    return {"className": hook.class_name, "triggerName": hook.trigger_name, "url": hook.url}


def _function_name(value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > _NAME_MAX or not value.isprintable():
        raise _invalid()
    return value


def _trigger_target(class_name: Any, trigger_name: Any) -> tuple[str, str]:
    if not isinstance(class_name, str) or not _CLASS_NAME_RE.fullmatch(class_name):
        raise _invalid()
    if trigger_name not in WEBHOOK_TRIGGERS:
        raise _invalid()
    return class_name, str(trigger_name)


async def _checked_url(value: Any) -> str:
    """The URL if the egress policy lets Hangar call it; 143 with the reason otherwise."""
    if not isinstance(value, str) or not value or len(value) > _URL_MAX:
        raise _invalid()
    scheme = value.split(":", 1)[0].lower()
    allowed = {"https", "http"} if settings.HANGAR_CLOUD_WEBHOOK_ALLOW_HTTP else {"https"}
    if scheme not in allowed:
        raise _invalid(f"invalid webhook url: {' or '.join(sorted(allowed))} only")
    try:
        await egress_check(value)
    except EgressError as exc:
        raise _invalid(f"invalid webhook url: {exc}") from exc
    return value


# Reads


@sync_to_async
def webhook_list(*, app_pk: int, kind: str) -> list[dict[str, Any]]:
    return [_as_wire(hook) for hook in CloudWebhook.objects.filter(app_id=app_pk, kind=kind)]


@sync_to_async
def webhook_function_get(*, app_pk: int, function_name: str) -> dict[str, Any]:
    hook = CloudWebhook.objects.filter(app_id=app_pk, kind="function", function_name=function_name).first()
    if hook is None:
        raise _invalid(f"no function named: {function_name} is defined")
    return _as_wire(hook)


@sync_to_async
def webhook_trigger_get(*, app_pk: int, class_name: str, trigger_name: str) -> dict[str, Any]:
    hook = CloudWebhook.objects.filter(
        app_id=app_pk, kind="trigger", class_name=class_name, trigger_name=trigger_name
    ).first()
    if hook is None:
        raise _invalid(f"class {class_name} does not exist")
    return _as_wire(hook)


# Writes


async def webhook_create(*, app_pk: int, application_id: str, kind: str, body: Any) -> dict[str, Any]:
    """POST /hooks/functions or /hooks/triggers: a new webhook; 143 if one already serves that name."""
    if not isinstance(body, dict):
        raise _invalid()
    if kind == CloudWebhook.KIND_FUNCTION:
        target: dict[str, str] = {"function_name": _function_name(body.get("functionName"))}
        taken = f"function name: {target['function_name']} already exists"
    else:
        class_name, trigger_name = _trigger_target(body.get("className"), body.get("triggerName"))
        target = {"class_name": class_name, "trigger_name": trigger_name}
        taken = f"class {class_name} already has trigger {trigger_name}"
    url = await _checked_url(body.get("url"))
    return await _insert(app_pk, application_id, kind, target, url, taken)


@sync_to_async
def _insert(
    app_pk: int, application_id: str, kind: str, target: dict[str, str], url: str, taken: str
) -> dict[str, Any]:
    try:
        with transaction.atomic():
            if CloudWebhook.objects.filter(app_id=app_pk).count() >= MAX_WEBHOOKS_PER_APP:
                raise _invalid(f"an app may register at most {MAX_WEBHOOKS_PER_APP} webhooks")
            hook = CloudWebhook.objects.create(app_id=app_pk, kind=kind, url=url, **target)
            publish_app_changed_on_commit(application_id)
    except IntegrityError as exc:  # the unique constraint: an existing one, or a concurrent create
        raise _invalid(taken) from exc
    return _as_wire(hook)


async def webhook_function_update(*, app_pk: int, application_id: str, function_name: str, url: Any) -> dict[str, Any]:
    """PUT /hooks/functions/:name: point an existing function webhook at a new URL."""
    checked = await _checked_url(url)
    missing = f"no function named: {function_name} is defined"
    return await _update(app_pk, application_id, {"kind": "function", "function_name": function_name}, checked, missing)


async def webhook_trigger_update(
    *, app_pk: int, application_id: str, class_name: str, trigger_name: str, url: Any
) -> dict[str, Any]:
    """PUT /hooks/triggers/:className/:triggerName: point an existing trigger webhook at a new URL."""
    checked = await _checked_url(url)
    target = {"kind": "trigger", "class_name": class_name, "trigger_name": trigger_name}
    return await _update(app_pk, application_id, target, checked, f"class {class_name} does not exist")


@sync_to_async
def _update(app_pk: int, application_id: str, target: dict[str, str], url: str, missing: str) -> dict[str, Any]:
    with transaction.atomic():
        hook = CloudWebhook.objects.select_for_update().filter(app_id=app_pk, **target).first()
        if hook is None:
            raise _invalid(missing)
        hook.url = url
        hook.save(update_fields=["url", "updated_at"])
        publish_app_changed_on_commit(application_id)
    return _as_wire(hook)


async def webhook_function_delete(*, app_pk: int, application_id: str, function_name: str) -> dict[str, Any]:
    """Remove a function webhook; like Parse Server, removing one that does not exist is not an error."""
    return await _delete(app_pk, application_id, {"kind": "function", "function_name": function_name})


async def webhook_trigger_delete(
    *, app_pk: int, application_id: str, class_name: str, trigger_name: str
) -> dict[str, Any]:
    target = {"kind": "trigger", "class_name": class_name, "trigger_name": trigger_name}
    return await _delete(app_pk, application_id, target)


@sync_to_async
def _delete(app_pk: int, application_id: str, target: dict[str, str]) -> dict[str, Any]:
    with transaction.atomic():
        deleted, _ = CloudWebhook.objects.filter(app_id=app_pk, **target).delete()
        if deleted:
            publish_app_changed_on_commit(application_id)
    return {}
