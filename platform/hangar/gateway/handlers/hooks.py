"""``/hooks/functions`` and ``/hooks/triggers`` (Parse's webhooks API): the master key registers an app's webhooks.

Routes and answers follow Parse Server's HooksRouter: a list is a bare JSON array, a
``PUT`` whose body is ``{"__op": "Delete"}`` deletes, and every refusal is 143.
"""

from __future__ import annotations

from typing import Any

from hangar.cloudcode import webhook_services as hooks
from hangar.gateway.auth import AuthContext, require_master
from hangar.gateway.request import ParseRequest
from hangar.gateway.responses import ParseResponse
from hangar.parse_errors import WEBHOOK_ERROR, ParseError


def _body(request: ParseRequest) -> dict[str, Any]:
    body = request.body
    return body if isinstance(body, dict) else {}


def _deletes(request: ParseRequest) -> bool:
    return _body(request).get("__op") == "Delete"


def _url(request: ParseRequest) -> Any:
    url = _body(request).get("url")
    if not url:
        raise ParseError(WEBHOOK_ERROR, "invalid hook declaration")
    return url


async def list_functions(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    require_master(auth)
    return ParseResponse(await hooks.webhook_list(app_pk=auth.app_pk, kind="function"))


async def list_triggers(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    require_master(auth)
    return ParseResponse(await hooks.webhook_list(app_pk=auth.app_pk, kind="trigger"))


async def get_function(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    require_master(auth)
    return ParseResponse(await hooks.webhook_function_get(app_pk=auth.app_pk, function_name=params["name"]))


async def get_trigger(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    require_master(auth)
    found = await hooks.webhook_trigger_get(
        app_pk=auth.app_pk, class_name=params["className"], trigger_name=params["triggerName"]
    )
    return ParseResponse(found)


async def create_function(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    require_master(auth)
    app = auth.app
    return ParseResponse(
        await hooks.webhook_create(app_pk=app.pk, application_id=app.application_id, kind="function", body=request.body)
    )


async def create_trigger(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    require_master(auth)
    app = auth.app
    return ParseResponse(
        await hooks.webhook_create(app_pk=app.pk, application_id=app.application_id, kind="trigger", body=request.body)
    )


async def put_function(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    require_master(auth)
    app, name = auth.app, params["name"]
    if request.method == "DELETE" or _deletes(request):
        return ParseResponse(
            await hooks.webhook_function_delete(app_pk=app.pk, application_id=app.application_id, function_name=name)
        )
    updated = await hooks.webhook_function_update(
        app_pk=app.pk, application_id=app.application_id, function_name=name, url=_url(request)
    )
    return ParseResponse(updated)


async def put_trigger(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    require_master(auth)
    app = auth.app
    target = {"class_name": params["className"], "trigger_name": params["triggerName"]}
    if request.method == "DELETE" or _deletes(request):
        return ParseResponse(
            await hooks.webhook_trigger_delete(app_pk=app.pk, application_id=app.application_id, **target)
        )
    updated = await hooks.webhook_trigger_update(
        app_pk=app.pk, application_id=app.application_id, url=_url(request), **target
    )
    return ParseResponse(updated)


def register(router: Any) -> None:
    router.add("GET", "/hooks/functions", list_functions)
    router.add("GET", "/hooks/functions/:name", get_function)
    router.add("POST", "/hooks/functions", create_function)
    router.add("PUT", "/hooks/functions/:name", put_function)
    router.add("DELETE", "/hooks/functions/:name", put_function)
    router.add("GET", "/hooks/triggers", list_triggers)
    router.add("GET", "/hooks/triggers/:className/:triggerName", get_trigger)
    router.add("POST", "/hooks/triggers", create_trigger)
    router.add("PUT", "/hooks/triggers/:className/:triggerName", put_trigger)
    router.add("DELETE", "/hooks/triggers/:className/:triggerName", put_trigger)
