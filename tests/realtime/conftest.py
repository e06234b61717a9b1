"""LiveQuery against the session's live server: a WebSocket client, REST writes, users."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
import pytest
from asgiref.sync import sync_to_async
from websockets.asyncio.client import ClientConnection, connect

from tests.conftest import LiveServer, Tenant
from tests.datastore.conftest import (
    app_a,  # noqa: F401  (fixture of the Parse API tests, for the matcher's)
    insert_user_with_session,
)

WAIT = 5.0  # seconds an expected frame may take
QUIET = 0.4  # seconds of silence that show a frame was not sent


class LiveClient:
    """A raw LiveQuery client (the protocol as any SDK speaks it)."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket

    async def send(self, message: dict[str, Any]) -> None:
        await self.socket.send(orjson.dumps(message).decode())

    async def receive(self, timeout: float = WAIT) -> dict[str, Any]:
        return orjson.loads(await asyncio.wait_for(self.socket.recv(), timeout))

    async def expect(self, op: str, timeout: float = WAIT) -> dict[str, Any]:
        frame = await self.receive(timeout)
        assert frame["op"] == op, frame
        return frame

    async def quiet(self, seconds: float = QUIET) -> None:
        """Assert that nothing arrives for a while."""
        try:
            frame = await asyncio.wait_for(self.socket.recv(), seconds)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected frame {frame!r}")

    async def connect(self, tenant: Tenant, *, key: str = "javascript", session: str | None = None) -> dict[str, Any]:
        message: dict[str, Any] = {"op": "connect", "applicationId": tenant.application_id}
        message["masterKey" if key == "master" else "javascriptKey"] = tenant.keys[key]
        if session:
            message["sessionToken"] = session
        await self.send(message)
        return await self.receive()

    async def subscribe(
        self, request_id: int, class_name: str, where: dict[str, Any] | None = None, **extra: Any
    ) -> dict[str, Any]:
        session = extra.pop("sessionToken", None)
        query = {"className": class_name, "where": where or {}, **extra}
        message: dict[str, Any] = {"op": "subscribe", "requestId": request_id, "query": query}
        if session:
            message["sessionToken"] = session
        await self.send(message)
        return await self.receive()


Opener = Callable[..., Any]


@pytest.fixture
def ws_url(live_server: LiveServer) -> str:
    return live_server.url.replace("http://", "ws://") + "/parse"


@pytest.fixture
def live_client(ws_url: str) -> Callable[..., Any]:
    """Open LiveQuery connections (``async with live_client() as client``), all closed at the end."""

    @asynccontextmanager
    async def open_client(url: str = ws_url, *, receive_buffer: int = 0, **options: Any) -> AsyncIterator[LiveClient]:
        if receive_buffer:  # a small, fixed kernel buffer (no autotuning): a reader that really stops
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
            host, port = urlsplit(url).netloc.split(":")
            sock.connect((host, int(port)))
            options["sock"] = sock
        async with connect(url, open_timeout=WAIT, close_timeout=1, **options) as websocket:
            yield LiveClient(websocket)

    return open_client


class Rest:
    """Parse REST calls to one app on the live server."""

    def __init__(self, client: httpx.AsyncClient, tenant: Tenant) -> None:
        self.client = client
        self.tenant = tenant

    async def call(
        self, method: str, path: str, body: Any = None, *, master: bool = True, session: str | None = None
    ) -> Any:
        headers = self.tenant.parse_headers("master" if master else "rest")
        if session:
            headers["X-Parse-Session-Token"] = session
        response = await self.client.request(
            method, f"/parse{path}", content=None if body is None else orjson.dumps(body), headers=headers
        )
        assert response.status_code < 300, response.text
        return response.json()


@pytest.fixture
async def rest_a(live_server: LiveServer, tenant_a: Tenant) -> AsyncIterator[Rest]:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as client:
        yield Rest(client, tenant_a)


@pytest.fixture
async def rest_b(live_server: LiveServer, tenant_b: Tenant) -> AsyncIterator[Rest]:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as client:
        yield Rest(client, tenant_b)


async def user_with_session(tenant: Tenant, name: str) -> tuple[str, str]:
    return await sync_to_async(insert_user_with_session)(tenant, name)
