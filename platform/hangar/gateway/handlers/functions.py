"""``/functions/:name`` (reference §13.3): run a cloud function of the app's active bundle."""

from __future__ import annotations

from typing import Any

from hangar.cloudcode.invocation import run_function
from hangar.gateway.auth import AuthContext
from hangar.gateway.request import ParseRequest
from hangar.gateway.responses import ParseResponse
from hangar.parse_errors import INVALID_JSON, ParseError

# Request headers a function sees (``request.headers``): never the keys or the session token.
_HIDDEN_HEADERS = ("x-parse-master-key", "x-parse-session-token", "authorization", "cookie")


def visible_headers(request: ParseRequest) -> dict[str, str]:
    visible: dict[str, str] = {}
    for raw_name, raw_value in request.headers.items():
        name = raw_name.decode("latin-1").lower()
        if name not in _HIDDEN_HEADERS and not name.endswith("-key"):
            visible[name] = raw_value.decode("latin-1")
    return visible


async def run(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    arguments: Any = request.params() if request.method == "GET" else request.body
    if not isinstance(arguments, dict):
        raise ParseError(INVALID_JSON, "Function parameters must be a JSON object.")
    result = await run_function(
        auth.caller, params["name"], arguments, headers=visible_headers(request), context=request.context
    )
    return ParseResponse({"result": result})


def register(router: Any) -> None:
    router.add("POST", "/functions/:name", run)
    router.add("GET", "/functions/:name", run)
