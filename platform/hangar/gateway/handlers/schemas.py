"""``/schemas`` and ``/purge`` (reference §13.1, §7), master key only: decode, call a schema service, encode."""

from __future__ import annotations

import logging
from typing import Any

from hangar.datastore import schemas
from hangar.gateway.auth import AuthContext, require_master
from hangar.gateway.request import ParseRequest
from hangar.gateway.responses import ParseResponse
from hangar.parse_errors import ParseError
from hangar.schema_history.recording import schema_change_record

log = logging.getLogger(__name__)


async def _recorded(auth: AuthContext, class_name: str, before: dict[str, Any] | None, after: Any) -> None:
    """Add the committed change to the app's schema history (docs/cli.md, Migrations).

    The change is applied whatever happens here: a history that could not be written is
    logged, not answered as an error the client would take for a refused change.
    """
    try:
        await schema_change_record(
            app_pk=auth.caller.app_pk, class_name=class_name, before=before,
            after=after if isinstance(after, dict) else None, source="parse_api",
        )  # fmt: skip
    except Exception:
        log.exception("could not record the /schemas change of %s in app %s", class_name, auth.caller.app_pk)


async def _current(auth: AuthContext, class_name: str) -> dict[str, Any] | None:
    try:
        return await schemas.schema_get(caller=auth.caller, class_name=class_name)
    except ParseError:
        return None


async def list_classes(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    require_master(auth)
    return ParseResponse(await schemas.schema_list(caller=auth.caller))


async def get(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    require_master(auth)
    return ParseResponse(await schemas.schema_get(caller=auth.caller, class_name=params["className"]))


async def create(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    require_master(auth)
    created = await schemas.schema_create(caller=auth.caller, class_name=params.get("className"), body=request.body)
    await _recorded(auth, created["className"], None, created)
    return ParseResponse(created)


async def update(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    require_master(auth)
    before = await _current(auth, params["className"])
    updated = await schemas.schema_update(caller=auth.caller, class_name=params["className"], body=request.body)
    await _recorded(auth, params["className"], before, updated)
    return ParseResponse(updated)


async def delete(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    require_master(auth)
    before = await _current(auth, params["className"])
    await schemas.schema_delete(caller=auth.caller, class_name=params["className"])
    if before is not None:
        await _recorded(auth, params["className"], before, None)
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
