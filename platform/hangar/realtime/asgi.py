"""The LiveQuery WebSocket endpoint: a lean ASGI application beside the Parse gateway.

Served by the same uvicorn processes as the REST API, on any path (Parse Server accepts
upgrades on any path; the JS SDK uses the REST URL's, ``ws://host/parse``). uvicorn's
WebSocket implementation answers the keep-alive pings (``--ws-ping-interval``); this
module reads the client's messages in order, in the connection's own task; its frames are
written at once or, when the client reads slowly, from a queue by a task of their own
(``hangar.realtime.connection``), so a slow reader never holds up the reading of its
messages or the delivery to others.

A lean handler rather than a Channels consumer: Channels' fan-out goes through its channel
layer (one Redis message per subscriber and event, then a consumer-side decode), where
this process already holds every subscriber and needs one Redis message per event.
"""

from __future__ import annotations

import asyncio
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
    connection.reader = asyncio.current_task()
    # A socket no app has admitted counts against no plan's limit: it gets a little while to `connect`.
    deadline = loop.call_later(settings.HANGAR_LIVEQUERY_CONNECT_TIMEOUT_SECONDS, connection.close_unless_connected)
    try:
        # Until the client leaves, or the server closes the connection (overflow, shutdown): after
        # its close frame the server hands this reader the disconnect.
        await _read(connection, receive)
    except asyncio.CancelledError:
        if not connection.writer_failed:  # else the writer stopped the reading (Connection._write_queued)
            raise
    finally:
        deadline.cancel()
        await connection.stop_writing()
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
