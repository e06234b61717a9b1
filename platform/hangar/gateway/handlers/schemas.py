"""``/schemas`` and ``/purge`` (reference §13.1, §7), master key only: decode, call a schema service, encode."""

from __future__ import annotations

from typing import Any

from hangar.datastore import schemas
from hangar.gateway.auth import AuthContext, require_master
from hangar.gateway.request import ParseRequest
from hangar.gateway.responses import ParseResponse


async def list_classes(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    require_master(auth)
    return ParseResponse(await schemas.schema_list(caller=auth.caller))


async def get(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    require_master(auth)
    return ParseResponse(await schemas.schema_get(caller=auth.caller, class_name=params["className"]))


async def create(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    require_master(auth)
    return ParseResponse(
        await schemas.schema_create(caller=auth.caller, class_name=params.get("className"), body=request.body)
    )


async def update(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    require_master(auth)
    return ParseResponse(
        await schemas.schema_update(caller=auth.caller, class_name=params["className"], body=request.body)
    )


async def delete(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    require_master(auth)
    await schemas.schema_delete(caller=auth.caller, class_name=params["className"])
    return ParseResponse({})


async def purge(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    require_master(auth)
    await schemas.class_purge(caller=auth.caller, class_name=params["className"])
    return ParseResponse({})


def register(router: Any) -> None:
    router.add("GET", "/schemas", list_classes)
    router.add("POST", "/schemas", create)
    router.add("GET", "/schemas/:className", get)
    router.add("POST", "/schemas/:className", create)
    router.add("PUT", "/schemas/:className", update)
    router.add("DELETE", "/schemas/:className", delete)
    router.add("DELETE", "/purge/:className", purge)
