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
from collections.abc import Awaitable, Callable
from typing import Any

from hangar.client_address import client_address_of_scope
from hangar.realtime.connection import Connection
from hangar.realtime.hub import close_hub, get_hub

log = logging.getLogger(__name__)

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


async def live_query_application(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    hub = get_hub()
    connection = Connection(hub, send, client_address_of_scope(scope))
    writer = asyncio.get_running_loop().create_task(connection.write_loop())
    reader = asyncio.get_running_loop().create_task(_read(connection, receive))
    try:
        # The connection ends when the client leaves or when the server closes it (overflow, shutdown).
        await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (reader, writer):
            task.cancel()
        for task in (reader, writer):
            with contextlib.suppress(BaseException):
                await task
        await hub.connection_closed(connection)


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
