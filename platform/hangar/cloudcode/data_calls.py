"""The platform's side of a handler's data calls: each runs through the data services as a client's would.

The caller is the invocation's own (same app, same user and roles), or its master-key
variant when the handler asked for it: a bundle can never name another app, because no
call carries an app at all.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings

from hangar.caller import Caller
from hangar.cloudcode.worker import CallError
from hangar.datastore import objects, queries
from hangar.parse_errors import INVALID_JSON, ParseError

CallHandler = Callable[[Caller, dict[str, Any]], Awaitable[Any]]
_READ_ONLY_FIELDS = ("objectId", "createdAt", "updatedAt", "className", "__type")


def files_base(application_id: str) -> str:
    return f"{settings.HANGAR_PUBLIC_URL}{settings.HANGAR_PARSE_MOUNT}/files/{application_id}"


def _base(caller: Caller) -> str:
    return files_base(caller.cloud_code.application_id if caller.cloud_code else "")


def _text(arguments: dict[str, Any], name: str) -> str:
    value = arguments.get(name)
    if not isinstance(value, str) or not value:
        raise CallError(INVALID_JSON, f"{name} must be a non-empty string.")
    return value


async def _find(caller: Caller, arguments: dict[str, Any]) -> Any:
    query = arguments.get("query") or {}
    if not isinstance(query, dict):
        raise CallError(INVALID_JSON, "query must be an object.")
    return await queries.object_find(
        caller=caller, class_name=_text(arguments, "className"), params=query, files_base=_base(caller)
    )


async def _get(caller: Caller, arguments: dict[str, Any]) -> Any:
    params = {"include": arguments["include"]} if arguments.get("include") else {}
    return await queries.object_get(
        caller=caller, class_name=_text(arguments, "className"), object_id=_text(arguments, "objectId"),
        params=params, files_base=_base(caller),
    )  # fmt: skip


async def _save(caller: Caller, arguments: dict[str, Any]) -> Any:
    fields = arguments.get("object")
    if not isinstance(fields, dict):
        raise CallError(INVALID_JSON, "object must be an object.")
    class_name = _text(arguments, "className")
    object_id = fields.get("objectId")
    body = {key: value for key, value in fields.items() if key not in _READ_ONLY_FIELDS}
    if object_id:
        response = await objects.object_update(
            caller=caller, class_name=class_name, object_id=str(object_id), body=body, files_base=_base(caller)
        )
        return {**fields, **response}
    response, _ = await objects.object_create(caller=caller, class_name=class_name, body=body, files_base=_base(caller))
    return {**fields, **response}


async def _destroy(caller: Caller, arguments: dict[str, Any]) -> Any:
    await objects.object_delete(
        caller=caller, class_name=_text(arguments, "className"), object_id=_text(arguments, "objectId"),
        files_base=_base(caller),
    )  # fmt: skip
    return None


async def _message_send(caller: Caller, channel: str, arguments: dict[str, Any]) -> Any:
    """An SMS or email through the app's providers, as the management API sends one (hangar.messaging.sends):
    recorded, delivered once, counted against the app's per-minute budget. Any handler may send: the
    bundle is the app's own server code, like Parse's ``Parse.Cloud`` with the master key."""
    from asgiref.sync import sync_to_async

    from hangar.messaging import sends
    from hangar.parse_errors import CONNECTION_FAILED, OBJECT_NOT_FOUND, VALIDATION_ERROR

    fields = {key: arguments.get(key) for key in sends.CLOUD_SEND_FIELDS[channel] if arguments.get(key) is not None}
    send = sends.sms_send if channel == "sms" else sends.email_send
    try:
        message = await sync_to_async(send)(app_pk=caller.app_pk, source="cloud", **fields)
    except sends.MessageRejectedError as exc:
        code = {"not_found": OBJECT_NOT_FOUND, "throttled": CONNECTION_FAILED}.get(exc.code, VALIDATION_ERROR)
        raise CallError(code, exc.message) from exc
    return {"id": message.pk, "status": message.status}


async def _send_sms(caller: Caller, arguments: dict[str, Any]) -> Any:
    return await _message_send(caller, "sms", arguments)


async def _send_email(caller: Caller, arguments: dict[str, Any]) -> Any:
    return await _message_send(caller, "email", arguments)


CALLS: dict[str, CallHandler] = {
    "find": _find, "get": _get, "save": _save, "destroy": _destroy, "send_sms": _send_sms, "send_email": _send_email,
}  # fmt: skip


def register_call(name: str, handler: CallHandler) -> None:
    """Another package's data call (e.g. ``run`` from the invocation layer, messaging's ``push``)."""
    CALLS[name] = handler


async def answer_call(caller: Caller, operation: str, arguments: dict[str, Any], master: bool) -> Any:
    handler = CALLS.get(operation)
    if handler is None:
        raise CallError(INVALID_JSON, f"Unknown data call {operation!r}.")
    scoped = dataclasses.replace(caller, is_master=True) if master and not caller.is_master else caller
    try:
        return await handler(scoped, arguments)
    except ParseError as exc:
        raise CallError(exc.code, exc.message) from exc
