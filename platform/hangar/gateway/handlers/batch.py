"""``POST /batch`` (reference §9): sub-requests routed like standalone ones, with the caller's auth.

Items run one after the other, a safe superset of Parse Server's concurrent dispatch.
With ``transaction: true`` they share one database transaction: the first failing
item rolls everything back and its error is the answer (400 with its code).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from django.conf import settings

from hangar.datastore.connection import batch_transaction
from hangar.datastore.schema_registry import app_schemas_forget
from hangar.gateway.auth import AuthContext
from hangar.gateway.request import ParseRequest
from hangar.gateway.responses import ParseResponse
from hangar.gateway.routing import Router
from hangar.parse_errors import INVALID_JSON, ParseError


class _BatchItemFailed(Exception):
    def __init__(self, error: ParseError) -> None:
        self.error = error


def _relative_path(path: Any) -> str:
    mount = settings.HANGAR_PARSE_MOUNT.rstrip("/")
    if not isinstance(path, str) or not path.startswith(mount + "/"):
        raise ParseError(INVALID_JSON, f"cannot route batch path {path}")
    return path[len(mount) :]


async def _run_item(
    router: Router, request: ParseRequest, auth: AuthContext, item: dict[str, Any], path: str
) -> dict[str, Any]:
    method = str(item.get("method", "")).upper()
    matched = router.match(method, path)
    if matched is None or not matched[0].batchable or path.startswith("/batch"):
        raise ParseError(INVALID_JSON, f"cannot route {method} {path}")
    route, params = matched
    body = item.get("body") or {}
    if not isinstance(body, dict):
        raise ParseError(INVALID_JSON, "The request body must be a JSON object.")
    sub_request = replace(request, method=method, path=path, body=body, query={})
    response = await route.handler(sub_request, auth, params)
    return response.body


def make_batch_handler(router: Router) -> Any:
    async def batch(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
        items = request.body.get("requests")
        if not isinstance(items, list):
            raise ParseError(INVALID_JSON, "requests must be an array")
        if len(items) > settings.HANGAR_BATCH_LIMIT:
            raise ParseError(INVALID_JSON, f"A batch may hold at most {settings.HANGAR_BATCH_LIMIT} requests.")
        if not all(isinstance(item, dict) for item in items):
            raise ParseError(INVALID_JSON, "each batch request must be an object")
        paths = [_relative_path(item.get("path")) for item in items]
        if request.body.get("transaction") is True:
            return await _transactional(router, request, auth, items, paths)
        results = []
        for item, path in zip(items, paths, strict=True):
            try:
                results.append({"success": await _run_item(router, request, auth, item, path)})
            except ParseError as error:
                results.append({"error": error.body()})
        return ParseResponse(results)

    return batch


async def _transactional(
    router: Router, request: ParseRequest, auth: AuthContext, items: list[dict[str, Any]], paths: list[str]
) -> ParseResponse:
    results = []
    try:
        async with batch_transaction(auth.app_pk):
            for item, path in zip(items, paths, strict=True):
                try:
                    results.append({"success": await _run_item(router, request, auth, item, path)})
                except ParseError as error:
                    raise _BatchItemFailed(error) from error
    except _BatchItemFailed as failed:
        app_schemas_forget(auth.app_pk)  # schema rows written in the batch were rolled back too
        raise ParseError(failed.error.code, failed.error.message, status=400) from failed
    return ParseResponse(results)
