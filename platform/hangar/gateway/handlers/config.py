"""``/config`` (reference §13.2): read with any key, change with the master key."""

from __future__ import annotations

from typing import Any

from hangar.datastore import config
from hangar.gateway.auth import AuthContext, require_master
from hangar.gateway.handlers.classes import files_base
from hangar.gateway.request import ParseRequest
from hangar.gateway.responses import ParseResponse


async def get(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    return ParseResponse(await config.config_get(caller=auth.caller, files_base=files_base(auth)))


async def update(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    require_master(auth)
    return ParseResponse(await config.config_update(caller=auth.caller, body=request.body))


def register(router: Any) -> None:
    router.add("GET", "/config", get)
    router.add("PUT", "/config", update)
