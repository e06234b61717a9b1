"""A minimal ASGI plumbing for the HTTP/1.1 endpoints, served by uvicorn in a thread or a process."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, Self

import uvicorn

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class Request:
    def __init__(self, scope: Scope, body: bytes) -> None:
        self.method: str = scope["method"]
        self.path: str = scope["path"]
        self.headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body)


class Response:
    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.body = b"" if body is None else body if isinstance(body, bytes) else json.dumps(body).encode()
        self.headers = {"content-type": "application/json", **(headers or {})}


Handler = Callable[[Request], Awaitable[Response]]


def asgi_app(handler: Handler) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        response = await handler(Request(scope, body))
        headers = [(k.encode(), v.encode()) for k, v in response.headers.items()]
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": response.body})

    return app


def bound_socket(port: int = 0, host: str = "127.0.0.1") -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


class ThreadedServer:
    """uvicorn serving one ASGI app on a loopback port from a daemon thread."""

    def __init__(self, handler: Handler, port: int = 0) -> None:
        self._sock = bound_socket(port)
        self.port = int(self._sock.getsockname()[1])
        config = uvicorn.Config(
            asgi_app(handler), log_level="warning", lifespan="off", loop="asyncio", access_log=False
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=lambda: self._server.run(sockets=[self._sock]), daemon=True)

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the endpoint did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()


class ServedEndpoint:
    """What every HTTP endpoint here shares: served by a ThreadedServer on ``port`` (0: any free one).

    Subclasses are dataclasses with a ``port`` field and a ``handle(request)`` method.
    """

    port: int
    _server: ThreadedServer | None = None

    def handle(self, request: Request) -> Response:
        raise NotImplementedError

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        self._server = ThreadedServer(self.handle, self.port)
        self.port = self._server.port
        self._server.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()


def serve_forever(handler: Handler, port: int) -> None:
    """Serve in this process until it is stopped (the benchmark's endpoint process)."""
    config = uvicorn.Config(asgi_app(handler), log_level="warning", lifespan="off", access_log=False)
    uvicorn.Server(config).run(sockets=[bound_socket(port)])
