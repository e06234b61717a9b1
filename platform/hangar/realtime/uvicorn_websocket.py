"""uvicorn's sans-I/O WebSocket protocol with one ASGI extension: write a text frame now.

An ASGI ``websocket.send`` costs, per frame, an awaited coroutine (a task of the
connection's own to await it), a ``str`` the protocol encodes again, and the framing
machinery of ``websockets``. A LiveQuery fan-out sends one frame to each of thousands of
connections per event, so that cost is most of a delivery's. With this protocol (``make
run``, the tests and the benchmark start uvicorn with ``--ws`` naming it, see
``hangar.launcher.WEBSOCKET_ARGS``) a WebSocket's scope carries
``scope["extensions"][FRAME_WRITER]``: a function that writes one unmasked final text
frame (RFC 6455 §5.2) of already encoded UTF-8 straight to the transport, and returns
False, writing nothing, when it cannot right now: the transport is paused (the client
reads slowly), or the connection is closing. The caller then goes through ``websocket.send``,
which waits for the transport as before (``hangar.realtime.connection``).

Everything else (handshake, reading, pings, close) is uvicorn's. This module must not
import Django: uvicorn imports it before it loads the application.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import State

FRAME_WRITER = "hangar.websocket.write_text_frame"

WriteTextFrame = Callable[[bytes], bool]

_FIN_TEXT = 0x81  # FIN bit and the text opcode: one whole message per frame
_SHORT_HEADERS = [bytes((_FIN_TEXT, length)) for length in range(126)]
_pack_medium = struct.Struct("!BBH").pack
_pack_long = struct.Struct("!BBQ").pack


def text_frame_header(length: int) -> bytes:
    """The header of a server's (unmasked) final text frame carrying ``length`` payload bytes."""
    if length < 126:
        return _SHORT_HEADERS[length]
    if length < 65536:
        return _pack_medium(_FIN_TEXT, 126, length)
    return _pack_long(_FIN_TEXT, 127, length)


class LiveQueryWebSocketProtocol(WebSocketsSansIOProtocol):
    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)  # none when the handshake was refused
        if scope is not None:
            scope["extensions"][FRAME_WRITER] = self.write_text_frame

    def write_text_frame(self, payload: bytes) -> bool:
        """Write one text frame now if the connection is open and its transport not paused."""
        if (
            self.close_sent or not self.writable.is_set() or self.transport.is_closing()
            or not self.handshake_complete or self.disconnected or self.conn.state is not State.OPEN
        ):  # fmt: skip
            return False
        self.transport.write(text_frame_header(len(payload)) + payload)
        return True
