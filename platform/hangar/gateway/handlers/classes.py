"""``/classes/:className[/:objectId]`` and ``/roles`` (reference §7, §10.7): decode, call a data service, encode."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from hangar.datastore import objects, queries
from hangar.gateway.auth import AuthContext
from hangar.gateway.request import ParseRequest
from hangar.gateway.responses import ParseResponse


def files_base(auth: AuthContext) -> str:
    return f"{settings.HANGAR_PUBLIC_URL}{settings.HANGAR_PARSE_MOUNT}/files/{auth.app.application_id}"


def object_location(class_name: str, object_id: str) -> str:
    return f"{settings.HANGAR_PUBLIC_URL}{settings.HANGAR_PARSE_MOUNT}/classes/{class_name}/{object_id}"


async def create(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    return await create_object(auth, params["className"], request.body)


async def create_object(auth: AuthContext, class_name: str, body: dict[str, Any]) -> ParseResponse:
    body, object_id = await objects.object_create(
        caller=auth.caller, class_name=class_name, body=body, files_base=files_base(auth)
    )
    if "createdAt" not in body:
        # The create updated an existing object (an installation's upsert): Parse Server answers 200.
        return ParseResponse(body)
    return ParseResponse(body, status=201, headers={"Location": object_location(class_name, object_id)})


async def find(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    return ParseResponse(
        await queries.object_find(
            caller=auth.caller, class_name=params["className"], params=request.params(), files_base=files_base(auth)
        )
    )


async def get(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    return ParseResponse(
        await queries.object_get(
            caller=auth.caller,
            class_name=params["className"],
            object_id=params["objectId"],
            params=request.params(),
            files_base=files_base(auth),
        )
    )


async def update(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    return ParseResponse(
        await objects.object_update(
            caller=auth.caller,
            class_name=params["className"],
            object_id=params["objectId"],
            body=request.body,
            files_base=files_base(auth),
        )
    )


async def delete(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    await objects.object_delete(
        caller=auth.caller, class_name=params["className"], object_id=params["objectId"], files_base=files_base(auth)
    )
    return ParseResponse({})


def for_class(class_name: str, handler: Any) -> Any:
    """A handler for a system-class route such as ``/roles/:objectId``."""

    async def bound(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
        return await handler(request, auth, {**params, "className": class_name})

    return bound


async def create_role(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    # The _Role rules (name, ACL, uniqueness) live in the write service, for every route alike.
    return await create_object(auth, "_Role", request.body)


def register(router: Any) -> None:
    router.add("POST", "/classes/:className", create)
    router.add("GET", "/classes/:className", find, replica_reads=True)
    router.add("GET", "/classes/:className/:objectId", get, replica_reads=True)
    router.add("PUT", "/classes/:className/:objectId", update)
    router.add("DELETE", "/classes/:className/:objectId", delete)
    router.add("POST", "/roles", create_role)
    router.add("GET", "/roles", for_class("_Role", find))
    router.add("GET", "/roles/:objectId", for_class("_Role", get))
    router.add("PUT", "/roles/:objectId", for_class("_Role", update))
    router.add("DELETE", "/roles/:objectId", for_class("_Role", delete))
