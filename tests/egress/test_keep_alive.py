"""egress_request(keep_alive=True): connections are reused per name, and the policy still judges every request."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from hangar.egress import EgressRefusedError, egress_request
from tests.egress.conftest import UNRESOLVABLE_SUFFIX

pytestmark = pytest.mark.asyncio


@dataclass
class KeepAliveServer:
    port: int = 0
    # one list of Host headers per accepted connection
    connections: list[list[str]] = field(default_factory=list)


async def _serve_connection(
    server: KeepAliveServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    hosts: list[str] = []
    server.connections.append(hosts)
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            headers = dict(
                line.split(": ", 1) for line in head.decode("latin-1").split("\r\n")[1:] if ": " in line
            )  # fmt: skip
            lowered = {k.lower(): v for k, v in headers.items()}
            hosts.append(lowered.get("host", ""))
            await reader.readexactly(int(lowered.get("content-length", "0")))
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()


@pytest.fixture
def keep_alive_server() -> Iterator[KeepAliveServer]:
    server = KeepAliveServer()
    ready = threading.Event()
    loop = asyncio.new_event_loop()

    async def start() -> asyncio.Server:
        listener = await asyncio.start_server(lambda r, w: _serve_connection(server, r, w), "127.0.0.1", 0)
        server.port = listener.sockets[0].getsockname()[1]
        return listener

    def run() -> None:
        listener = loop.run_until_complete(start())
        ready.set()
        loop.run_forever()
        listener.close()
        # Connections the client keeps are still being served: end them with the loop.
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(5)
    yield server
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


async def test_requests_to_one_name_share_a_connection(settings: Any, keep_alive_server: KeepAliveServer) -> None:
    settings.HANGAR_EGRESS_ALLOW_PRIVATE = ["127.0.0.1/32"]
    url = f"http://127.0.0.1:{keep_alive_server.port}/x"
    for _ in range(5):
        assert (await egress_request("POST", url, content=b"{}", keep_alive=True)).content == b"ok"
    assert len(keep_alive_server.connections) == 1
    for _ in range(2):
        await egress_request("POST", url, content=b"{}")
    assert len(keep_alive_server.connections) == 3  # without keep_alive: a connection per request


async def test_a_connection_is_never_lent_to_another_name_of_the_same_address(
    settings: Any, resolver: dict[str, list[str]], keep_alive_server: KeepAliveServer
) -> None:
    settings.HANGAR_EGRESS_ALLOW_PRIVATE = ["127.0.0.1/32"]
    first, second = f"one{UNRESOLVABLE_SUFFIX}", f"two{UNRESOLVABLE_SUFFIX}"
    resolver[first] = resolver[second] = ["127.0.0.1"]
    for name in (first, second, first, second):
        await egress_request("GET", f"http://{name}:{keep_alive_server.port}/", keep_alive=True)
    port = keep_alive_server.port
    assert sorted(keep_alive_server.connections) == [[f"{first}:{port}"] * 2, [f"{second}:{port}"] * 2]


async def test_the_policy_still_judges_each_request_on_a_kept_connection(
    settings: Any, keep_alive_server: KeepAliveServer
) -> None:
    settings.HANGAR_EGRESS_ALLOW_PRIVATE = ["127.0.0.1/32"]
    url = f"http://127.0.0.1:{keep_alive_server.port}/"
    await egress_request("GET", url, keep_alive=True)
    settings.HANGAR_EGRESS_ALLOW_PRIVATE = []
    with pytest.raises(EgressRefusedError):
        await egress_request("GET", url, keep_alive=True)
    assert sum(len(hosts) for hosts in keep_alive_server.connections) == 1
