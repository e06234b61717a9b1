"""``GET /aggregate/:className`` (reference §13.5): master key only; distinct values or a pipeline."""

from __future__ import annotations

from typing import Any

from hangar.datastore.aggregate import object_aggregate
from hangar.gateway.auth import AuthContext, require_master
from hangar.gateway.handlers.classes import files_base
from hangar.gateway.request import ParseRequest
from hangar.gateway.responses import ParseResponse


async def aggregate(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    require_master(auth)
    return ParseResponse(
        await object_aggregate(
            caller=auth.caller, class_name=params["className"], params=request.params(), files_base=files_base(auth)
        )
    )


def register(router: Any) -> None:
    router.add("GET", "/aggregate/:className", aggregate)
