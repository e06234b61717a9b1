"""``/events/:eventName`` (Parse analytics, reference §13.3): ``AppOpened`` and custom events."""

from __future__ import annotations

from typing import Any

from hangar.analytics.ingest import event_record
from hangar.gateway.auth import AuthContext
from hangar.gateway.request import ParseRequest
from hangar.gateway.responses import ParseResponse


async def track(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    event_record(auth.caller, name=params["eventName"], body=request.body)
    return ParseResponse({})  # Parse Server answers an empty object


def register(router: Any) -> None:
    router.add("POST", "/events/:eventName", track)
