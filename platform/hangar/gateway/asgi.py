"""The Parse front door: a lean ASGI application mounted at /parse beside Django.

The data plane does not go through Django's request cycle (middleware, URL
resolver, sync-to-async bridges): on this hot path they cost more than the work
itself (DESIGN.md section 3). It still uses Django's settings and Hangar's services.
Every answer is JSON; an unexpected failure is logged and rendered as Parse's
``{"code": 1}`` 500, never as an HTML page.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from django.conf import settings

from hangar.client_address import client_address_of_scope
from hangar.gateway.auth import AuthContext, authenticate, authenticate_by_path
from hangar.gateway.errors import INVALID_JSON, OBJECT_TOO_LARGE, OPERATION_FORBIDDEN, ParseError
from hangar.gateway.request import ParseRequest, decode_request
from hangar.gateway.responses import ASGISend, ParseResponse, RawResponse, send_bytes, send_json
from hangar.gateway.routes import build_router
from hangar.gateway.routing import Route
from hangar.observability.logs import request_id_from, request_id_var
from hangar.observability.metrics import request_observe, route_class
from hangar.outages import RepeatedFailureLog, is_outage, outage_error
from hangar.read_replicas import read_route_for, replica_reads, replicas_configured, write_recorded

log = logging.getLogger(__name__)
_outage_log = RepeatedFailureLog(log)
ASGIReceive = Callable[[], Awaitable[dict[str, Any]]]

_HEALTH_PATHS = {"/health", "/health/"}


class BodyTooLargeError(ParseError):
    def __init__(self, limit: int) -> None:
        super().__init__(OBJECT_TOO_LARGE, f"Request body exceeds the limit of {limit} bytes.", status=413)


async def read_body(receive: ASGIReceive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLargeError(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


class ParseGateway:
    def __init__(self, mount: str) -> None:
        self.mount = mount.rstrip("/")
        self.router = build_router()
        self.max_body = settings.HANGAR_MAX_REQUEST_BYTES

    async def __call__(self, scope: dict[str, Any], receive: ASGIReceive, send: ASGISend) -> None:
        started = time.perf_counter()
        request_id = request_id_from(_header(scope, b"x-request-id"))
        id_token = request_id_var.set(request_id)
        status = 500  # if nothing was sent at all

        async def send_observed(message: Mapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), (b"x-request-id", request_id.encode())]}
            await send(message)

        try:
            await self._answer(scope, receive, send_observed)
        finally:
            request_observe(
                route=route_class(scope["path"]), method=scope["method"], status=status,
                seconds=time.perf_counter() - started,
            )  # fmt: skip
            request_id_var.reset(id_token)

    async def _answer(self, scope: dict[str, Any], receive: ASGIReceive, send: ASGISend) -> None:
        try:
            await self._handle(scope, receive, send)
        except ParseError as error:
            await send_json(send, status=error.status, body=error.body(), extra=error.headers)
        except Exception as exc:
            if is_outage(exc):
                _outage_log.failure(exc, "PostgreSQL or Redis unavailable")
                outage = outage_error()
                await send_json(send, status=outage.status, body=outage.body(), extra=outage.headers)
                return
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            await send_json(send, status=500, body={"code": 1, "message": "Internal server error."})

    async def _handle(self, scope: dict[str, Any], receive: ASGIReceive, send: ASGISend) -> None:
        method = scope["method"]
        path = scope["path"][len(self.mount) :] or "/"
        if method == "OPTIONS":
            await send_bytes(send, status=200, body=b"OK", content_type=b"text/plain; charset=utf-8")
            return
        if path in _HEALTH_PATHS and method in {"GET", "POST"}:
            # Answered before any key check, as Parse Server does (reference §13.6).
            await send_json(send, status=200, body={"status": "ok"})
            return
        headers = dict(scope["headers"])
        client_ip = client_address_of_scope(scope)  # behind HANGAR_TRUSTED_PROXIES, their X-Forwarded-For
        request = await self._streamed_request(scope, receive, method, path, headers, client_ip)
        if request is None:
            declared = headers.get(b"content-length")
            if declared is not None and declared.isdigit() and int(declared) > self.max_body:
                raise BodyTooLargeError(self.max_body)
            raw_body = await read_body(receive, self.max_body)
            request = decode_request(
                method=method, path=path, query_string=scope.get("query_string", b""), headers=headers,
                raw_body=raw_body, client_ip=client_ip, parse_body=self.router.parses_body(path),
            )  # fmt: skip
        if request.path in _HEALTH_PATHS and request.method == "GET":
            await send_json(send, status=200, body={"status": "ok"})
            return
        matched = self.router.match(request.method, request.path)
        if matched is not None and matched[0].app_param is not None:
            auth = await authenticate_by_path(matched[1][matched[0].app_param], client_ip=request.client_ip)
        else:
            auth = await authenticate(request)
        if matched is None:
            raise ParseError(INVALID_JSON, f"cannot route {request.method} {request.path}", status=404)
        route, params = matched
        if auth.restoring and request.method != "GET":
            raise _restoring_error()
        if replicas_configured():
            response = await self._handled_with_replicas(route, request, auth, params)
        else:
            response = await route.handler(request, auth, params)
        if isinstance(response, RawResponse):
            await response.send(send)
            return
        await send_json(send, status=response.status, body=response.body, extra=response.headers)

    async def _handled_with_replicas(
        self, route: Route, request: ParseRequest, auth: AuthContext, params: dict[str, str]
    ) -> ParseResponse | RawResponse:
        """A client's find or get may read a replica (after its own writes, one that has them); a
        client's write is remembered for read-your-writes (hangar.read_replicas)."""
        if request.method == "GET":
            if not route.replica_reads or auth.is_master:
                return await route.handler(request, auth, params)
            with replica_reads(await read_route_for(auth.caller)):
                return await route.handler(request, auth, params)
        response = await route.handler(request, auth, params)
        await write_recorded(auth.caller)
        return response

    async def _streamed_request(
        self, scope: dict[str, Any], receive: ASGIReceive, method: str, path: str, headers: dict[bytes, bytes],
        client_ip: str,
    ) -> ParseRequest | None:  # fmt: skip
        """A request whose route reads its own body (file uploads): keys from the headers, body left unread.

        Without an app id in the headers the body is the JS SDK's JSON envelope and takes the
        ordinary path (read whole, up to HANGAR_MAX_REQUEST_BYTES): None is returned.
        """
        if not self.router.streams_body(method, path):
            return None
        request = decode_request(
            method=method, path=path, query_string=scope.get("query_string", b""), headers=headers, raw_body=b"",
            client_ip=client_ip, parse_body=False,
        )  # fmt: skip
        if request.application_id is None:
            return None
        request.body_stream = body_chunks(receive)
        return request


def _restoring_error() -> ParseError:
    """A write to an app while a restore replaces its content (hangar.backups.lease): it would be lost at the commit."""
    return ParseError(
        OPERATION_FORBIDDEN,
        "This app is being restored from a backup and is read-only until the restore ends; try again shortly.",
        status=503, headers={"retry-after": "10"},
    )  # fmt: skip


def _header(scope: dict[str, Any], name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


async def body_chunks(receive: ASGIReceive) -> AsyncIterator[bytes]:
    """The request body as it arrives; the consumer enforces its own size limit."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ParseError(INVALID_JSON, "The client disconnected during the upload.")
        chunk = message.get("body", b"")
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return
