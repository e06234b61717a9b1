"""A lean WebSocket client (RFC 6455) for the LiveQuery load generator: one asyncio protocol per connection.

The ``websockets`` package costs a task, futures and a decoded ``str`` per message; at
tens of thousands of deliveries a second that would make the load generator the
bottleneck on this machine. This client parses frames straight from the bytes the
event loop hands over, answers pings, and leaves every text frame's payload (``bytes``)
to a callback. It speaks only what a LiveQuery client needs: the opening handshake,
text frames out (masked, as clients must), text/ping/close frames in, unfragmented or
fragmented, without extensions (none is offered, so none is negotiated).
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
from collections.abc import Callable
from typing import cast

OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
_MAX_FRAME = 64 * 1024 * 1024  # a bound on what a (broken) server can make us buffer


class HandshakeError(ConnectionError):
    """The server did not switch protocols (its status line is the message)."""


def _mask(payload: bytes, key: bytes) -> bytes:
    # XOR with the 4-byte key repeated, as one big-integer operation instead of a byte loop.
    if not payload:
        return payload
    repeated = (key * (len(payload) // 4 + 1))[: len(payload)]
    masked = int.from_bytes(payload, "little") ^ int.from_bytes(repeated, "little")
    return masked.to_bytes(len(payload), "little")


def encode_frame(opcode: int, payload: bytes) -> bytes:
    """One final, masked client frame."""
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
    elif length < 65536:
        header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
    key = os.urandom(4)
    return header + key + _mask(payload, key)


class WebSocketClient(asyncio.Protocol):
    """One connection. ``on_text(payload, received_at)`` is called for every text message."""

    def __init__(self, host: str, path: str, on_text: Callable[[bytes, float], None], clock: Callable[[], float]):
        self._request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
        self._on_text = on_text
        self._clock = clock
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._upgraded = False
        self._fragments: list[bytes] = []
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's transports are not its subclasses
        self._transport.write(self._request)

    def connection_lost(self, exc: Exception | None) -> None:
        reason = f"connection lost: {exc}" if exc else "connection closed"
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(reason))
        if not self.closed.done():
            self.closed.set_result(reason)

    def data_received(self, data: bytes) -> None:
        now = self._clock()  # one reading per read from the socket: every frame in it arrived then
        self._buffer += data
        if not self._upgraded and not self._finish_handshake():
            return
        self._read_frames(now)

    # sending
    def send_text(self, text: str) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(encode_frame(OP_TEXT, text.encode()))

    def close(self) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(encode_frame(OP_CLOSE, struct.pack("!H", 1000)))
            self._transport.close()

    # receiving
    def _finish_handshake(self) -> bool:
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            return False
        head = bytes(self._buffer[:end]).decode("latin-1")
        del self._buffer[: end + 4]
        status_line = head.split("\r\n", 1)[0]
        if " 101 " not in f"{status_line} ":
            self.opened.set_exception(HandshakeError(status_line))
            if self._transport is not None:
                self._transport.close()
            return False
        self._upgraded = True
        self.opened.set_result(None)
        return True

    def _read_frames(self, now: float) -> None:
        buffer = self._buffer
        offset = 0
        size = len(buffer)
        while size - offset >= 2:
            first, second = buffer[offset], buffer[offset + 1]
            length = second & 0x7F
            header = 2
            if length == 126:
                if size - offset < 4:
                    break
                (length,) = struct.unpack_from("!H", buffer, offset + 2)
                header = 4
            elif length == 127:
                if size - offset < 10:
                    break
                (length,) = struct.unpack_from("!Q", buffer, offset + 2)
                header = 10
            if second & 0x80:  # servers never mask; skip the key if one does
                header += 4
            if length > _MAX_FRAME:
                self._fail("frame too large")
                return
            if size - offset < header + length:
                break
            payload = bytes(buffer[offset + header : offset + header + length])
            if second & 0x80:
                payload = _mask(payload, bytes(buffer[offset + header - 4 : offset + header]))
            offset += header + length
            self._frame(first & 0x80, first & 0x0F, payload, now)
        if offset:
            del buffer[:offset]

    def _frame(self, final: int, opcode: int, payload: bytes, now: float) -> None:
        if opcode == OP_PING:
            if self._transport is not None and not self._transport.is_closing():
                self._transport.write(encode_frame(OP_PONG, payload))
        elif opcode == OP_CLOSE:
            self.close()
        elif opcode in (OP_TEXT, OP_BINARY, OP_CONTINUATION):
            if not final:
                self._fragments.append(payload)
                return
            if self._fragments:
                payload = b"".join([*self._fragments, payload])
                self._fragments.clear()
            self._on_text(payload, now)

    def _fail(self, reason: str) -> None:
        if not self.closed.done():
            self.closed.set_result(reason)
        if self._transport is not None:
            self._transport.abort()


async def open_connection(
    host: str, port: int, path: str, on_text: Callable[[bytes, float], None], clock: Callable[[], float],
    *, timeout: float,
) -> WebSocketClient:  # fmt: skip
    """Connect and complete the opening handshake within ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    _, protocol = await asyncio.wait_for(
        loop.create_connection(lambda: WebSocketClient(f"{host}:{port}", path, on_text, clock), host, port),
        timeout,
    )
    await asyncio.wait_for(protocol.opened, timeout)
    return protocol
