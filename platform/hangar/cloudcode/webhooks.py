"""Run an app's function and trigger webhooks: POST Parse's webhook payload to the developer's endpoint.

Behaviour follows Parse Server's HooksController (https://docs.parseplatform.org/rest/guide/#hooks):
the endpoint gets a JSON body (params or object/original/query/objects, master, user,
installationId, ip, headers, functionName or triggerName) with the app's
``X-Parse-Webhook-Key`` header, and answers ``{"success": result}`` or ``{"error": message}``;
an error is Parse's 141 whatever its shape. The request leaves through ``hangar.egress``
(docs/egress.md): the policy is applied to the address the name resolves to at call time,
redirects are never followed, and the deadline (the function or trigger timeout) and the
response size are bounded. A webhook that fails for any reason answers 141, never a 5xx:
the endpoint is the developer's, not Hangar's.

The app's deployed bundle wins over a webhook of the same function or trigger; the webhook
serves only what the bundle does not define (docs/cloudcode.md, "Webhooks").
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

import orjson
from django.conf import settings

from hangar.caller import Caller
from hangar.cloudcode.logs import log_record
from hangar.egress import (
    EgressRefusedError,
    EgressResponse,
    EgressResponseTooLargeError,
    EgressUnavailableError,
    egress_request,
)
from hangar.parse_errors import SCRIPT_FAILED, ParseError

WEBHOOK_KEY_HEADER = "X-Parse-Webhook-Key"
# Fields the server owns: a beforeSave webhook's answer cannot set them (as Parse Server drops them).
_SERVER_FIELDS = ("objectId", "createdAt", "updatedAt", "className", "__type")
_ERROR_MESSAGE_MAX = 1000


def webhook_key(application_id: str) -> str:
    """The app's webhook key: derived from SECRET_KEY, so every process agrees without storing it."""
    message = f"hangar.cloudcode.webhook-key:{application_id}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def function_webhook_of(caller: Caller, name: str) -> str | None:
    """The URL serving function ``name`` when the bundle does not define it (the bundle wins)."""
    code = caller.cloud_code
    if caller.webhooks is None or (code is not None and name in code.functions):
        return None
    return caller.webhooks.function_url(name)


def trigger_webhook_of(caller: Caller, kind: str, class_name: str) -> str | None:
    """The URL serving trigger ``kind`` of ``class_name`` when the bundle has no handler for it."""
    code = caller.cloud_code
    if caller.webhooks is None or (code is not None and code.has_trigger(kind, class_name)):
        return None
    return caller.webhooks.trigger_url(kind, class_name)


async def _common_fields(caller: Caller, headers: dict[str, str] | None) -> dict[str, Any]:
    from hangar.cloudcode.invocation import _user_object as user_object  # invocation imports this module

    body: dict[str, Any] = {"master": caller.is_master, "headers": headers or {}, "ip": caller.client_ip}
    user = await user_object(caller)
    if user is not None:
        body["user"] = user
    if caller.installation_id:
        body["installationId"] = caller.installation_id
    return body


async def function_webhook_run(
    caller: Caller, *, name: str, url: str, params: dict[str, Any],
    headers: dict[str, str] | None = None, context: dict[str, Any] | None = None,
) -> Any:  # fmt: skip
    """Run a function webhook; its ``success`` value is the function's result."""
    body = {**await _common_fields(caller, headers), "functionName": name, "params": params, "context": context or {}}
    timeout = float(settings.HANGAR_CLOUD_FUNCTION_TIMEOUT_SECONDS)
    return await _call(caller, kind="function", name=name, url=url, body=body, timeout=timeout)


def _with_class(value: Any, class_name: str) -> Any:
    return {**value, "className": class_name} if isinstance(value, dict) else value


def _without_class(value: Any, class_name: str) -> Any:
    if isinstance(value, dict) and value.get("className") == class_name:
        return {field: item for field, item in value.items() if field != "className"}
    return value


async def trigger_webhook_run(
    caller: Caller, *, kind: str, class_name: str, url: str, payload: dict[str, Any]
) -> dict[str, Any]:
    """Run a trigger webhook; returns what a bundle's trigger would (``object``, ``objects``) for triggers.py."""
    body: dict[str, Any] = {**await _common_fields(caller, None), "triggerName": kind}
    for field, value in payload.items():
        if field in ("object", "original", "query"):
            body[field] = _with_class(value, class_name) if value is not None else None
        elif field == "objects" and isinstance(value, list):
            body[field] = [_with_class(item, class_name) for item in value]
        else:
            body[field] = value
    timeout = float(settings.HANGAR_CLOUD_TRIGGER_TIMEOUT_SECONDS)
    result = await _call(
        caller, kind="trigger", name=f"{kind}.{class_name}", url=url, body=body, timeout=timeout,
        class_name=class_name,
    )  # fmt: skip
    if kind == "beforeSave" and isinstance(result, dict):
        return {"object": {field: value for field, value in result.items() if field not in _SERVER_FIELDS}}
    if kind == "afterFind" and isinstance(result, list):
        # The className each object was sent with is not part of a find result.
        return {"objects": [_without_class(item, class_name) for item in result]}
    # Like Parse Server, a beforeFind webhook can only reject the query, not rewrite it.
    return {}


async def _call(
    caller: Caller, *, kind: str, name: str, url: str, body: dict[str, Any], timeout: float,
    class_name: str | None = None,
) -> Any:  # fmt: skip
    application_id = caller.webhooks.application_id if caller.webhooks else ""
    headers = {"Content-Type": "application/json", WEBHOOK_KEY_HEADER: webhook_key(application_id)}
    started = time.monotonic()
    failure: str | None = None
    try:
        response = await egress_request(
            "POST", url, headers=headers, content=orjson.dumps(body, default=str), timeout=timeout,
            max_response_bytes=int(settings.HANGAR_CLOUD_WEBHOOK_MAX_RESPONSE_BYTES),
        )  # fmt: skip
        return _result(response)
    except EgressRefusedError as exc:
        failure = f"the egress policy refused the webhook URL: {exc}"
        raise ParseError(SCRIPT_FAILED, "The webhook's URL is not allowed.") from exc
    except EgressResponseTooLargeError as exc:
        failure = str(exc)
        raise ParseError(SCRIPT_FAILED, "The webhook's response is too large.") from exc
    except EgressUnavailableError as exc:
        failure = str(exc)
        raise ParseError(SCRIPT_FAILED, "The webhook did not answer in time or could not be reached.") from exc
    except ParseError as exc:
        failure = exc.message
        raise
    finally:
        _record(caller, kind=kind, name=name, class_name=class_name, started=started, failure=failure)


def _result(response: EgressResponse) -> Any:
    """The ``success`` value of the answer; ``error`` (a string, or an object's ``message``) becomes 141."""
    if 300 <= response.status_code < 400:
        raise ParseError(SCRIPT_FAILED, "The webhook answered with a redirect, which is not followed.")
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise ParseError(SCRIPT_FAILED, "Malformed webhook response.")
    error = answer.get("error")
    if error is not None and error is not False:
        message = error.get("message", error) if isinstance(error, dict) else error
        text = message if isinstance(message, str) else orjson.dumps(message).decode()
        raise ParseError(SCRIPT_FAILED, text[:_ERROR_MESSAGE_MAX] or "Script failed.")
    return answer.get("success")


def _record(
    caller: Caller, *, kind: str, name: str, class_name: str | None, started: float, failure: str | None
) -> None:
    """The invocation in the app's cloud-code log (hangar.cloudcode.logs), as a bundle's would be."""
    entry: dict[str, Any] = {
        "kind": kind, "name": name, "webhook": True, "version": None,
        "ms": round((time.monotonic() - started) * 1000, 2),
        "outcome": "error" if failure else "ok", "lines": [],
    }  # fmt: skip
    if class_name:
        entry["className"] = class_name
    if failure:
        entry.update({"code": SCRIPT_FAILED, "error": failure})
    if caller.user_id:
        entry["user"] = caller.user_id
    log_record(caller.app_pk, entry)
