"""LiveQuery with Redis stopped: a connect or a subscribe is answered with Parse's 100 promptly, never a hang,
and events flow again once Redis is back."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
import pytest

from hangar.realtime.asgi import live_query_application
from hangar.realtime.hub import close_hub
from tests.conftest import Tenant
from tests.datastore.conftest import ParseApp
from tests.faults.test_redis_faults import RedisProcess, app_on_own_redis, own_redis  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


class Socket:
    """The ASGI WebSocket entry point driven directly: what the client sends, what the server answers."""

    def __init__(self) -> None:
        self.incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.outgoing: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.incoming.put_nowait({"type": "websocket.connect"})
        scope = {"type": "websocket", "path": "/parse", "client": ("127.0.0.1", 5000), "headers": []}
        self.task = asyncio.get_running_loop().create_task(
            live_query_application(scope, self.incoming.get, self.outgoing.put)
        )

    async def send(self, message: dict[str, Any]) -> None:
        await self.incoming.put({"type": "websocket.receive", "text": orjson.dumps(message).decode()})

    async def frame(self) -> dict[str, Any]:
        while True:
            event = await asyncio.wait_for(self.outgoing.get(), 5)
            if event["type"] == "websocket.send":
                return orjson.loads(event["text"])
            if event["type"] == "websocket.close":
                return {"closed": event["code"]}

    async def close(self) -> None:
        await self.incoming.put({"type": "websocket.disconnect", "code": 1000})
        await asyncio.wait_for(self.task, 5)


def connect_message(tenant: Tenant) -> dict[str, Any]:
    return {"op": "connect", "applicationId": tenant.application_id, "javascriptKey": tenant.keys["javascript"]}


async def test_a_connect_while_redis_is_down_is_refused_promptly(app_on_own_redis: ParseApp, own_redis):  # noqa: F811
    socket = Socket()
    own_redis.stop()
    started = time.monotonic()
    await socket.send(connect_message(app_on_own_redis.tenant))
    error = await socket.frame()
    assert (error["op"], error["code"]) == ("error", 100)
    assert await socket.frame() == {"closed": 1008}
    assert time.monotonic() - started < 2.5
    await socket.close()
    await close_hub()


async def test_a_subscribe_while_redis_is_down_answers_100(app_on_own_redis: ParseApp, own_redis):  # noqa: F811
    socket = Socket()
    await socket.send(connect_message(app_on_own_redis.tenant))
    assert (await socket.frame())["op"] == "connected"
    own_redis.stop()
    await socket.send({"op": "subscribe", "requestId": 3, "query": {"className": "Thing", "where": {}}})
    error = await socket.frame()
    assert (error["op"], error["code"], error["requestId"]) == ("error", 100, 3)
    await asyncio.to_thread(own_redis.start)
    back = time.monotonic()
    while True:  # Redis is back: subscribing works again within a couple of seconds
        await socket.send({"op": "subscribe", "requestId": 4, "query": {"className": "Thing", "where": {}}})
        answer = await socket.frame()
        if answer["op"] == "subscribed":
            break
        assert time.monotonic() - back < 3, answer
        await asyncio.sleep(0.5)
    created = (await app_on_own_redis.request("POST", "/classes/Thing", {"n": 2}, master=True)).json()
    event = await socket.frame()
    assert (event["op"], event["object"]["objectId"]) == ("create", created["objectId"])
    await socket.close()
    await close_hub()
