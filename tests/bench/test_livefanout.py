"""The live-fanout load generator's pieces, checked without Hangar or Parse Server.

The lean WebSocket client is checked against a real WebSocket server (the ``websockets``
package's, on a free loopback port): handshake, messages of every length encoding,
fragmented messages, a ping answered with a pong, our masked frames read back. The
event recognition is checked on frames shaped as Parse Server and Hangar send them.
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

import pytest
import websockets

from bench.livefanout import LIVE_WHERE, percentiles_ms
from bench.livegen import Generator, Subscriber
from bench.run import LIVE_FANOUT, main, parse_args
from bench.wsclient import HandshakeError, open_connection


async def test_client_reads_every_length_fragments_and_answers_pings() -> None:
    received_by_server: list[str] = []
    pong = asyncio.Event()

    async def handler(connection: Any) -> None:
        received_by_server.append(await connection.recv())
        await connection.send("a" * 10)
        await connection.send("b" * 300)  # 16-bit length
        await connection.send("c" * 70_000)  # 64-bit length
        await connection.send(["frag", "ment", "ed"])  # one message in three frames
        waiter = await connection.ping(b"x")
        await waiter
        pong.set()
        await connection.send("done")
        await connection.wait_closed()

    async with websockets.serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        messages: list[bytes] = []
        got_done = asyncio.Event()

        def on_text(payload: bytes, received_at: float) -> None:
            assert received_at <= time.monotonic()
            messages.append(payload)
            if payload == b"done":
                got_done.set()

        client = await open_connection("127.0.0.1", port, "/parse", on_text, time.monotonic, timeout=5)
        client.send_text('{"op":"connect"}' + " " * 200)  # a masked frame with a 16-bit length
        await asyncio.wait_for(got_done.wait(), 5)
        client.close()
    assert received_by_server == ['{"op":"connect"}' + " " * 200]
    assert messages == [b"a" * 10, b"b" * 300, b"c" * 70_000, b"fragmented", b"done"]
    assert pong.is_set()


async def test_a_refused_upgrade_is_a_handshake_error() -> None:
    async def refuse(connection: Any, request: Any) -> Any:
        return connection.respond(403, "no\n")

    async with websockets.serve(lambda c: c.wait_closed(), "127.0.0.1", 0, process_request=refuse) as server:
        port = server.sockets[0].getsockname()[1]
        with pytest.raises(HandshakeError, match="403"):
            await open_connection("127.0.0.1", port, "/parse", lambda p, t: None, time.monotonic, timeout=5)


async def test_events_are_recognised_as_parse_and_hangar_frame_them() -> None:
    generator = Generator({})
    subscriber = Subscriber(generator)
    subscriber.stage = "live"
    parse_frame = (
        b'{"op":"create","clientId":"c1","requestId":1,"object":{"kind":"live","score":1,'
        b'"createdAt":"2026-12-06T05:00:00.000Z","className":"BenchLive","objectId":"AbC123xYz0"}}'
    )
    spaced_frame = b'{"op": "create", "requestId": 1, "object": {"objectId": "Zz9", "kind": "live"}}'
    subscriber.on_text(parse_frame, 1.5)
    subscriber.on_text(parse_frame, 2.5)
    subscriber.on_text(spaced_frame, 3.0)
    subscriber.on_text(b'{"op": "error", "code": 1, "error": "too slow", "reconnect": true}', 4.0)
    subscriber.on_text(b'{"op":"update","object":{"objectId":"AbC123xYz0"}}', 5.0)
    assert {key: list(times) for key, times in generator.receipts.items()} == {b"AbC123xYz0": [1.5, 2.5], b"Zz9": [3.0]}
    assert generator.received == 3
    assert generator.other_frames == {"error": 1, "update": 1}  # counted, and they make the run invalid


def test_percentiles_are_nearest_rank_in_milliseconds() -> None:
    values = [i / 1000 for i in range(1, 101)]  # 1..100 ms
    assert percentiles_ms(values) == {"p50": 50.0, "p99": 99.0, "min": 1.0, "max": 100.0}
    assert all(math.isnan(v) for v in percentiles_ms([]).values())


def test_live_fanout_flags() -> None:
    args = parse_args(["--workloads", LIVE_FANOUT])
    assert args.workloads == [LIVE_FANOUT]
    assert args.live_subscribers == [1000, 10000]
    assert parse_args(["--quick"]).live_subscribers == [1000]
    assert parse_args(["--live-subscribers", "10, 200"]).live_subscribers == [10, 200]
    with pytest.raises(SystemExit):
        parse_args(["--live-subscribers", "0"])
    assert LIVE_WHERE == {"kind": "live"}  # an equality: supported by every LiveQuery server


def test_skip_hangar_is_refused_with_http_workloads_before_anything_starts() -> None:
    assert main(["--skip-hangar", "--workloads", f"health,{LIVE_FANOUT}"]) == 2
    assert main(["--workloads", "no-such-workload"]) == 2
