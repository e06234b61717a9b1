"""The LiveQuery WebSocket endpoint: a lean ASGI application beside the Parse gateway.

Served by the same uvicorn processes as the REST API, on any path (Parse Server accepts
upgrades on any path; the JS SDK uses the REST URL's, ``ws://host/parse``). uvicorn's
WebSocket implementation answers the keep-alive pings (``--ws-ping-interval``); this
module reads the client's messages in order and writes the connection's queued frames
from a task of its own, so a slow reader never holds up the reading of its messages or
the delivery to others.

A lean handler rather than a Channels consumer: Channels' fan-out goes through its channel
layer (one Redis message per subscriber and event, then a consumer-side decode), where
this process already holds every subscriber and needs one Redis message per event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings

from hangar.client_address import client_address_of_scope
from hangar.parse_errors import REQUEST_LIMIT_EXCEEDED
from hangar.realtime.connection import Connection
from hangar.realtime.hub import close_hub, get_hub
from hangar.realtime.protocol import LiveQueryError, error_frame
from hangar.realtime.uvicorn_websocket import FRAME_WRITER

log = logging.getLogger(__name__)

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


# Open sockets per client address in this process (the per-address cap).
_open_by_address: Counter[str] = Counter()


async def live_query_application(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    address = client_address_of_scope(scope)
    limit = settings.HANGAR_LIVEQUERY_CONNECTIONS_PER_ADDRESS
    if limit and _open_by_address[address] >= limit:
        await _refuse(send, f"At most {limit} live connections per client address.")
        return
    await send({"type": "websocket.accept"})
    _open_by_address[address] += 1
    try:
        connection = Connection(get_hub(), send, address, scope.get("extensions", {}).get(FRAME_WRITER))
        await _serve(connection, receive)
    finally:
        _open_by_address[address] -= 1
        if not _open_by_address[address]:
            del _open_by_address[address]


async def _serve(connection: Connection, receive: Receive) -> None:
    loop = asyncio.get_running_loop()
    writer = loop.create_task(connection.write_loop())
    reader = loop.create_task(_read(connection, receive))
    # A socket no app has admitted counts against no plan's limit: it gets a little while to `connect`.
    deadline = loop.call_later(settings.HANGAR_LIVEQUERY_CONNECT_TIMEOUT_SECONDS, connection.close_unless_connected)
    try:
        # The connection ends when the client leaves or when the server closes it (overflow, shutdown).
        await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        deadline.cancel()
        for task in (reader, writer):
            task.cancel()
        for task in (reader, writer):
            with contextlib.suppress(BaseException):
                await task
        await connection.hub.connection_closed(connection)


async def _refuse(send: Send, message: str) -> None:
    """Accept, say why in Parse's terms (155, try again later), and close: the SDK backs off and retries."""
    await send({"type": "websocket.accept"})
    frame = error_frame(LiveQueryError(REQUEST_LIMIT_EXCEEDED, message, reconnect=True))
    await send({"type": "websocket.send", "text": frame.decode()})
    await send({"type": "websocket.close", "code": 1013})


async def _read(connection: Connection, receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        if message["type"] == "websocket.receive":
            try:
                await connection.receive(message.get("text") or message.get("bytes"))
            except Exception:
                log.exception("LiveQuery message handling failed")
                connection.close(1011)
                return


async def live_query_shutdown() -> None:
    """Lifespan shutdown: close this process's connections (clients reconnect to another process)."""
    await close_hub()
