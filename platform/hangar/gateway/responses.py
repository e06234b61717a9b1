"""JSON responses of the Parse protocol, with the CORS headers Parse Server sends (reference §3)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

ASGISend = Callable[[Mapping[str, Any]], Awaitable[None]]  # what ASGI servers (and Django) give

CORS_HEADERS: list[tuple[bytes, bytes]] = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-methods", b"GET,PUT,POST,DELETE,OPTIONS"),
    (
        b"access-control-allow-headers",
        b"X-Parse-Master-Key, X-Parse-REST-API-Key, X-Parse-Javascript-Key, X-Parse-Application-Id, "
        b"X-Parse-Client-Version, X-Parse-Session-Token, X-Requested-With, X-Parse-Revocable-Session, "
        b"X-Parse-Request-Id, Content-Type, Pragma, Cache-Control, X-Parse-Installation-Id, "
        b"X-Parse-Client-Key, X-Parse-Cloud-Context, X-Parse-Windows-Key",
    ),
    (b"access-control-expose-headers", b"X-Parse-Job-Status-Id, X-Parse-Push-Status-Id"),
]
_JSON_TYPE = (b"content-type", b"application/json; charset=utf-8")


@dataclass
class ParseResponse:
    body: Any
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


async def send_bytes(
    send: ASGISend, *, status: int, body: bytes, content_type: bytes, extra: dict[str, str] | None = None
) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()), *CORS_HEADERS]
    for name, value in (extra or {}).items():
        headers.append((name.lower().encode("latin-1"), value.encode("latin-1")))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def send_json(send: ASGISend, *, status: int, body: Any, extra: dict[str, str] | None = None) -> None:
    await send_bytes(send, status=status, body=orjson.dumps(body), content_type=_JSON_TYPE[1], extra=extra)


@dataclass
class RawResponse(ParseResponse):
    """A non-JSON answer (file bytes, an empty body), optionally streamed chunk by chunk."""

    content_type: str = "text/plain; charset=utf-8"
    chunks: AsyncIterator[bytes] | None = None

    async def send(self, send: ASGISend) -> None:
        if self.chunks is None:
            await send_bytes(
                send, status=self.status, body=self.body, content_type=self.content_type.encode("latin-1"),
                extra=self.headers,
            )  # fmt: skip
            return
        headers = [(b"content-type", self.content_type.encode("latin-1")), *CORS_HEADERS]
        headers += [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in self.headers.items()]
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        async for chunk in self.chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
