"""``/installations``, ``/push`` and ``/push_audiences`` (reference §10.8, §13.4; Parse Server's routers).

``/installations`` is ``/classes/_Installation`` under another name (the installation
rules apply on every route alike). ``/push`` and ``/push_audiences`` need the master key.
"""

from __future__ import annotations

from typing import Any

from hangar.datastore import objects, queries
from hangar.gateway.auth import AuthContext, require_master
from hangar.gateway.handlers import classes
from hangar.gateway.request import ParseRequest
from hangar.gateway.responses import ParseResponse
from hangar.messaging.audiences import audience_body, audience_wire
from hangar.messaging.campaigns import campaign_create
from hangar.messaging.push_classes import AUDIENCE_CLASS
from hangar.messaging.push_requests import push_spec_from_request

INSTALLATION = "_Installation"


async def push_send(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    require_master(auth)
    spec = await push_spec_from_request(caller=auth.caller, body=request.body, source="rest")
    status_id = await campaign_create(app_pk=auth.app_pk, spec=spec)
    return ParseResponse({"result": True}, headers={"X-Parse-Push-Status-Id": status_id})


async def audience_list(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    require_master(auth)
    found = await queries.object_find(
        caller=auth.caller, class_name=AUDIENCE_CLASS, params=request.params(), files_base=classes.files_base(auth)
    )
    return ParseResponse({**found, "results": [audience_wire(obj) for obj in found["results"]]})


async def audience_get(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    require_master(auth)
    obj = await queries.object_get(
        caller=auth.caller, class_name=AUDIENCE_CLASS, object_id=params["objectId"], params=request.params(),
        files_base=classes.files_base(auth),
    )  # fmt: skip
    return ParseResponse(audience_wire(obj))


async def audience_create(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    require_master(auth)
    return await classes.create_object(auth, AUDIENCE_CLASS, audience_body(request.body))


async def audience_update(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    require_master(auth)
    return ParseResponse(
        await objects.object_update(
            caller=auth.caller, class_name=AUDIENCE_CLASS, object_id=params["objectId"],
            body=audience_body(request.body), files_base=classes.files_base(auth),
        )
    )  # fmt: skip


async def audience_delete(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    require_master(auth)
    return await classes.delete(request, auth, {"className": AUDIENCE_CLASS, **params})


def register(router: Any) -> None:
    router.add("POST", "/installations", classes.for_class(INSTALLATION, classes.create))
    router.add("GET", "/installations", classes.for_class(INSTALLATION, classes.find))
    router.add("GET", "/installations/:objectId", classes.for_class(INSTALLATION, classes.get))
    router.add("PUT", "/installations/:objectId", classes.for_class(INSTALLATION, classes.update))
    router.add("DELETE", "/installations/:objectId", classes.for_class(INSTALLATION, classes.delete))
    router.add("POST", "/push", push_send)
    router.add("GET", "/push_audiences", audience_list)
    router.add("GET", "/push_audiences/:objectId", audience_get)
    router.add("POST", "/push_audiences", audience_create)
    router.add("PUT", "/push_audiences/:objectId", audience_update)
    router.add("DELETE", "/push_audiences/:objectId", audience_delete)
