"""Kept-alive HTTP/1.1 connections for the platform's high-volume senders (push providers).

A push campaign sends one request per device: 100,000 requests to one host. httpx spends more
CPU per request than the rest of the delivery engine together (docs/messaging.md, "Measured"),
so a sender that asks for ``keep_alive`` without HTTP/2 gets this lean client instead: a pool
of asyncio connections per event loop and destination, each carrying one request at a time,
responses parsed by ``httptools`` (llhttp, the parser uvicorn serves with).

The egress policy is the caller's (``hangar.egress.client``): the destination name passed
the allowlist before a request gets here, and a new connection is opened only to an address
that ``check_addresses`` has just resolved and judged (no DNS rebinding; TLS still verifies
the certificate against the name). A kept connection is reused without resolving again: it
already goes to a checked address. Proxies are not spoken here; with ``HANGAR_EGRESS_PROXY``
set, the caller uses httpx.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import time
import weakref
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, cast

import httptools
import httpx

from hangar.egress.addresses import IPAddress
from hangar.egress.errors import EgressError, EgressRefusedError, EgressResponseTooLargeError, EgressUnavailableError
from hangar.egress.response import EgressResponse

# Shorter than the shortest keep-alive timeout of common servers (uvicorn's 5 s): a connection
# idle for longer may be closed by the server just as a request is written on it.
IDLE_SECONDS = 4.0
MAX_IDLE_PER_DESTINATION = 64
MAX_DESTINATIONS = 64  # per event loop; the least recently used one's connections are closed past this
_FORBIDDEN_IN_HEADERS = frozenset("\r\n\0")

AddressCheck = Callable[[], Awaitable[list[IPAddress]]]


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection; one exchange at a time."""

    def __init__(self, limit: int) -> None:
        self.transport: asyncio.Transport | None = None
        self.lost = False
        self.idle_since = time.monotonic()
        self._limit = limit
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[EgressResponse] | None = None
        self._headers: list[tuple[bytes, bytes]] = []
        self._body = bytearray()
        self._keep = True
        self._refusal: EgressError | None = None  # why a callback stopped the parser

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport (uvloop's TCPTransport is one without subclassing asyncio.Transport).
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self._waiter is None:  # bytes nobody asked for: the connection is not in a known state
            self.close()
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(EgressUnavailableError("the server switched protocols"))
        except httptools.HttpParserError as exc:  # also what a callback raised, wrapped
            self._fail(self._refusal or EgressUnavailableError(f"the server sent a malformed response: {exc}"))

    def eof_received(self) -> bool:
        self.lost = True
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self._fail(EgressUnavailableError("the server closed the connection"))

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        for name, value in self._headers:
            if name.lower() == b"content-length" and value.strip().isdigit() and int(value) > self._limit:
                declared = f"the response declares {int(value)} bytes (limit {self._limit})"
                self._refuse(EgressResponseTooLargeError(declared))

    def on_body(self, body: bytes) -> None:
        self._body += body
        if len(self._body) > self._limit:
            self._refuse(EgressResponseTooLargeError(f"the response is larger than {self._limit} bytes"))

    def _refuse(self, error: EgressError) -> None:
        self._refusal = error
        raise error  # stops the parser; data_received reports the refusal

    def on_message_complete(self) -> None:
        waiter, self._waiter = self._waiter, None
        self._keep = self._parser.should_keep_alive()
        if waiter is not None and not waiter.done():
            status = self._parser.get_status_code()
            waiter.set_result(EgressResponse(status, httpx.Headers(self._headers), bytes(self._body)))

    # the pool's side
    def usable(self, now: float) -> bool:
        return not self.lost and self._keep and now - self.idle_since < IDLE_SECONDS and not self._closing()

    def _closing(self) -> bool:
        return self.transport is None or self.transport.is_closing()

    async def exchange(self, request: bytes) -> EgressResponse:
        assert self.transport is not None
        self._waiter = asyncio.get_running_loop().create_future()
        self._headers, self._body, self._refusal = [], bytearray(), None
        self.transport.write(request)
        try:
            return await self._waiter
        except BaseException:
            self.close()  # cancelled or failed mid-exchange: what the server sends next is unknown
            raise

    def _fail(self, error: EgressError) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)
        self.close()

    def close(self) -> None:
        self.lost = True
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()


@dataclass
class _Destination:
    idle: deque[_Connection] = field(default_factory=deque)
    open: weakref.WeakSet[_Connection] = field(default_factory=weakref.WeakSet)

    def close(self) -> None:
        self.idle.clear()
        for connection in list(self.open):
            connection.close()


_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, OrderedDict[tuple[Any, ...], _Destination]] = (
    weakref.WeakKeyDictionary()
)


@functools.lru_cache(maxsize=1024)
def _request_head(method: str, target: httpx.URL) -> str:
    return f"{method} {target.raw_path.decode('ascii')} HTTP/1.1\r\nHost: {target.netloc.decode('ascii')}"


def request_bytes(method: str, target: httpx.URL, headers: dict[str, str], content: bytes | None) -> bytes:
    """The request's head and body as they go on the wire; refuses header text that could split it."""
    lines = [_request_head(method, target)]
    for name, value in headers.items():
        if _FORBIDDEN_IN_HEADERS.intersection(name) or _FORBIDDEN_IN_HEADERS.intersection(value) or ":" in name:
            raise EgressRefusedError(f"refusing to send the header {name!r}: it holds a line break or a colon")
        if name.lower() not in ("host", "content-length", "transfer-encoding", "connection"):
            lines.append(f"{name}: {value}")
    body = content or b""
    if body or method not in ("GET", "HEAD", "DELETE"):
        lines.append(f"Content-Length: {len(body)}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head + body


async def keepalive_request(
    method: str, target: httpx.URL, *, headers: dict[str, str], content: bytes | None, limit: int,
    check_addresses: AddressCheck, tls: ssl.SSLContext | None, destination_key: tuple[Any, ...],
) -> EgressResponse:  # fmt: skip
    """One exchange on a kept connection to ``target``'s destination (a new one when none is idle).

    The caller bounds the whole call with its deadline; a cancelled exchange closes its connection.
    """
    wire = request_bytes(method, target, headers, content)
    destination = _destination(destination_key)
    connection = _idle_connection(destination)
    if connection is None:
        connection = await _connect(target, limit, check_addresses, tls)
        destination.open.add(connection)
    response = await connection.exchange(wire)
    if connection.usable(time.monotonic()) and len(destination.idle) < MAX_IDLE_PER_DESTINATION:
        connection.idle_since = time.monotonic()
        destination.idle.append(connection)
    else:
        connection.close()
    return response


def _destination(key: tuple[Any, ...]) -> _Destination:
    destinations = _pools.setdefault(asyncio.get_running_loop(), OrderedDict())
    destination = destinations.get(key)
    if destination is None:
        destination = destinations[key] = _Destination()
        while len(destinations) > MAX_DESTINATIONS:
            destinations.popitem(last=False)[1].close()
    else:
        destinations.move_to_end(key)
    return destination


def _idle_connection(destination: _Destination) -> _Connection | None:
    now = time.monotonic()
    while destination.idle:
        connection = destination.idle.pop()  # the most recently used is the least likely to be timed out
        if connection.usable(now):
            return connection
        connection.close()
    return None


async def _connect(
    target: httpx.URL, limit: int, check_addresses: AddressCheck, tls: ssl.SSLContext | None
) -> _Connection:
    host = target.host
    port = target.port or (443 if target.scheme == "https" else 80)
    addresses = await check_addresses()
    last_error: OSError | None = None
    for address in addresses:
        try:
            _, protocol = await asyncio.get_running_loop().create_connection(
                lambda: _Connection(limit), host=str(address), port=port, ssl=tls,
                server_hostname=host if tls is not None else None,
            )  # fmt: skip
            return protocol
        except ssl.SSLError as exc:  # a certificate that does not match: another address will not help
            raise EgressUnavailableError(f"{host}: TLS failed ({exc.reason})") from exc
        except OSError as exc:
            last_error = exc  # the next address of the same name may answer
    raise EgressUnavailableError(f"{host} could not be reached: connection refused") from last_error


async def keepalive_close_all() -> None:
    """Close this event loop's kept connections (a Celery task's loop is about to end)."""
    destinations = _pools.pop(asyncio.get_running_loop(), OrderedDict())
    for destination in destinations.values():
        destination.close()
    if destinations:
        await asyncio.sleep(0)  # let the transports run their close callbacks in this loop
