"""What the Parse Dashboard's Cloud Code and Logs pages read: ``/releases/latest``, ``/scripts/*``, ``/scriptlog``.

Parse Server serves ``/scriptlog`` (LogsRouter.js); ``/releases/latest`` and ``/scripts``
are the hosted Parse API the dashboard's Cloud Code page still asks for (ParseApp.js
``getLatestRelease``, ``getSource``). All master key only.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async

from hangar.cloudcode.script_log import script_log
from hangar.cloudcode.selectors import release_latest, release_script
from hangar.gateway.auth import AuthContext, require_master
from hangar.gateway.request import ParseRequest
from hangar.gateway.responses import ParseResponse
from hangar.parse_errors import OBJECT_NOT_FOUND, ParseError


async def latest_release(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    require_master(auth)
    return ParseResponse(await sync_to_async(release_latest)(auth.caller.app_pk))


async def script_source(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    """A file's text as a JSON string (the dashboard shows what the request resolves to)."""
    require_master(auth)
    source = await sync_to_async(release_script)(auth.caller.app_pk, params["scriptPath"])
    if source is None:
        raise ParseError(OBJECT_NOT_FOUND, f"No file {params['scriptPath']} in the active cloud code.", status=404)
    return ParseResponse(source)


async def logs(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    require_master(auth)
    return ParseResponse(await script_log(auth.caller.app_pk, request.params()))


def register(router: Any) -> None:
    router.add("GET", "/releases/latest", latest_release)
    router.add("GET", "/scripts/:scriptPath", script_source)
    router.add("GET", "/scriptlog", logs)
