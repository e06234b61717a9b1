"""One LiveQuery load-generator process: opens its slice of the subscribers and timestamps every event.

Started by bench/livefanout.py, several at once, each with a JSON configuration as its
only argument. It opens ``count`` WebSocket connections to the server (a bounded number
of handshakes in flight), sends each the Parse LiveQuery ``connect`` and one
``subscribe``, and prints one JSON line when all are subscribed (or failed). Then it
answers commands read from stdin, one per line:

- ``count``: print how many ``create`` events have arrived so far (and any other frames);
- ``stop``: close every connection, write the receipts to the configured file (a pickle
  of ``{objectId: array('d') of CLOCK_MONOTONIC receipt times}``) and exit.

Receipt times are ``time.monotonic()``: CLOCK_MONOTONIC is one clock for every process
of the machine, so the harness subtracts the writer's response times from them. A
delivered event is recognised without decoding its JSON (two regular expressions on the
bytes); anything unexpected (an ``error`` frame, another op) is decoded and counted.

    python bench/livegen.py '{"host": "127.0.0.1", "port": 8000, ...}'
"""

from __future__ import annotations

import asyncio
import json
import pickle
import re
import resource
import sys
import time
from array import array
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.wsclient import WebSocketClient, open_connection

_OP = re.compile(rb'"op"\s*:\s*"(\w+)"')
_OBJECT_ID = re.compile(rb'"objectId"\s*:\s*"([^"]+)"')
_MAX_ERRORS_KEPT = 5


class Subscriber:
    """One connection's progress through connect and subscribe."""

    __slots__ = ("client", "generator", "stage", "waiter")

    def __init__(self, generator: Generator) -> None:
        self.generator = generator
        self.stage = "connecting"  # -> "subscribing" -> "live"
        self.waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.client: WebSocketClient | None = None

    def on_text(self, payload: bytes, received_at: float) -> None:
        if self.stage == "live":
            op = _OP.search(payload)
            if op is not None and op.group(1) == b"create":
                found = _OBJECT_ID.search(payload)
                if found is not None:
                    self.generator.record(found.group(1), received_at)
                    return
            self.generator.unexpected(payload)
            return
        try:
            message = json.loads(payload)
        except ValueError:
            message = {"op": "unparsable", "payload": payload[:200].decode(errors="replace")}
        if not self.waiter.done():
            self.waiter.set_result(message)


class Generator:
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.receipts: dict[bytes, array[float]] = {}
        self.received = 0
        self.other_frames: dict[str, int] = {}
        self.errors: list[str] = []
        self.failed = 0
        self.subscribers: list[Subscriber] = []

    def record(self, object_id: bytes, received_at: float) -> None:
        times = self.receipts.get(object_id)
        if times is None:
            times = self.receipts[object_id] = array("d")
        times.append(received_at)
        self.received += 1

    def unexpected(self, payload: bytes) -> None:
        try:
            op = str(json.loads(payload).get("op"))
        except (ValueError, AttributeError):
            op = "unparsable"
        self.other_frames[op] = self.other_frames.get(op, 0) + 1
        if len(self.errors) < _MAX_ERRORS_KEPT:
            self.errors.append(payload[:300].decode(errors="replace"))

    async def _expect(self, subscriber: Subscriber, op: str, timeout: float) -> None:
        message = await asyncio.wait_for(subscriber.waiter, timeout)
        subscriber.waiter = asyncio.get_running_loop().create_future()
        if message.get("op") != op:
            raise ConnectionError(f"expected {op}, got {json.dumps(message)[:300]}")

    async def open_one(self, semaphore: asyncio.Semaphore) -> None:
        config = self.config
        timeout = float(config["timeout"])
        subscriber = Subscriber(self)
        async with semaphore:
            try:
                client = await open_connection(
                    config["host"], config["port"], config["path"], subscriber.on_text, time.monotonic,
                    timeout=timeout,
                )  # fmt: skip
                subscriber.client = client
                client.send_text(json.dumps({"op": "connect", **config["connect"]}))
                await self._expect(subscriber, "connected", timeout)
                subscriber.stage = "subscribing"
                client.send_text(json.dumps({"op": "subscribe", "requestId": 1, "query": config["query"]}))
                await self._expect(subscriber, "subscribed", timeout)
                subscriber.stage = "live"
                self.subscribers.append(subscriber)
            except (TimeoutError, OSError) as exc:
                self.failed += 1
                if len(self.errors) < _MAX_ERRORS_KEPT:
                    self.errors.append(f"{type(exc).__name__}: {exc}")
                if subscriber.client is not None:
                    subscriber.client.close()

    def closed_by_server(self) -> int:
        return sum(1 for s in self.subscribers if s.client is not None and s.client.closed.done())

    def status(self) -> dict[str, Any]:
        return {
            "subscribed": len(self.subscribers), "failed": self.failed, "received": self.received,
            "other_frames": self.other_frames, "closed_by_server": self.closed_by_server(), "errors": self.errors,
        }  # fmt: skip


def _emit(document: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(document) + "\n")
    sys.stdout.flush()


def raise_open_files_limit(needed: int) -> None:
    """Raise the soft limit on open files to what ``needed`` connections take (never above the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = needed + 256
    if soft != resource.RLIM_INFINITY and soft < wanted:
        ceiling = hard if hard != resource.RLIM_INFINITY else wanted
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, ceiling), hard))


async def run(config: dict[str, Any]) -> None:
    generator = Generator(config)
    semaphore = asyncio.Semaphore(int(config["handshakes_in_flight"]))
    await asyncio.gather(*(generator.open_one(semaphore) for _ in range(int(config["count"]))))
    _emit({"event": "ready", **generator.status()})
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = (await reader.readline()).decode().strip()
        if line == "count":
            _emit({"event": "count", **generator.status()})
        elif line in ("stop", ""):  # EOF: the harness went away
            status = generator.status()
            for subscriber in generator.subscribers:
                if subscriber.client is not None:
                    subscriber.client.close()
            Path(config["receipts_path"]).write_bytes(pickle.dumps(generator.receipts, pickle.HIGHEST_PROTOCOL))
            _emit({"event": "stopped", **status})
            return


def main() -> None:
    config = json.loads(sys.argv[1])
    raise_open_files_limit(int(config["count"]))
    try:
        import uvloop
    except ImportError:  # the plain asyncio loop works too, only slower
        asyncio.run(run(config))
    else:
        uvloop.run(run(config))


if __name__ == "__main__":
    main()
