"""The data plane's Redis client: every call has a deadline, and a connection Redis closed is replaced."""

from __future__ import annotations

import asyncio
import time

import pytest
import redis.asyncio as aioredis
from django.conf import settings
from redis.exceptions import TimeoutError as RedisTimeout

from hangar.loop_local import LoopLocal


@pytest.fixture
def own_client(monkeypatch: pytest.MonkeyPatch):
    """get_redis() builds a fresh client for this test instead of the loop's shared one."""
    import hangar.redis_async as redis_async

    monkeypatch.setattr(redis_async, "_clients", LoopLocal())
    return redis_async  # each test closes its client; the fresh LoopLocal goes with the monkeypatch


async def test_a_connection_redis_closed_while_idle_is_replaced_without_failing_the_call(own_client):
    client = own_client.get_redis()
    try:
        await client.set("hangar:test:reconnect", "1")
        connection_id = await client.client_id()
        async with aioredis.Redis.from_url(settings.REDIS_URL) as admin:
            assert await admin.client_kill_filter(_id=connection_id) == 1
        assert await client.get("hangar:test:reconnect") == b"1"  # retried once on a new connection
        assert await client.client_id() != connection_id
    finally:
        await own_client.close_redis()


async def test_a_frozen_redis_fails_the_call_within_its_deadline(own_client, settings):
    """A server that accepts and never answers (SIGSTOP'd Redis) holds a call ~2 timeouts, not a minute."""
    accepted: list[asyncio.StreamWriter] = []

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"
    settings.HANGAR_REDIS_TIMEOUT_SECONDS = 0.3
    client = own_client.get_redis()
    try:
        started = time.monotonic()
        with pytest.raises(RedisTimeout):
            await client.get("anything")
        elapsed = time.monotonic() - started
        assert elapsed < 3, elapsed
        assert len(accepted) == 2  # the first try and one retry, then the caller hears of it
    finally:
        await own_client.close_redis()
        for writer in accepted:
            writer.close()
        server.close()
        await server.wait_closed()
