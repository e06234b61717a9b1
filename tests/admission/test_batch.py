"""Admission's shared Redis round trip: a batch that fails does not fail its members, each tries once alone."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import redis.exceptions

from hangar.admission import batch
from hangar.loop_local import LoopLocal
from tests.conftest import Tenant, _free_port

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def warm_app(parse_client: httpx.AsyncClient, tenant_a: Tenant, monkeypatch) -> AsyncIterator[Tenant]:
    """tenant_a's app cached in this process, with a Redis client of this test's own."""
    import hangar.redis_async as redis_async

    monkeypatch.setattr(redis_async, "_clients", LoopLocal())
    assert (await parse_client.get("/parse/serverInfo", headers=tenant_a.parse_headers("master"))).status_code == 200
    yield tenant_a
    await redis_async.close_redis()


def _recorded_script(monkeypatch, *, fail_first: bool) -> list[int]:
    """Record the size of every admission round trip (the batch's, or a member's own) and optionally fail the first."""
    sizes: list[int] = []
    real = batch._script

    def script(client: Any) -> Any:
        async def call(*, keys: list[str], args: list[Any]) -> Any:
            sizes.append(sum(int(size) for size in args[2::4]))  # four values per app's group: size third
            if fail_first and len(sizes) == 1:
                raise redis.exceptions.ConnectionError("Connection closed by server.")
            return await real(client)(keys=keys, args=args)

        return call

    monkeypatch.setattr(batch, "_script", script)
    return sizes


async def _use_redis_at(url: str, settings) -> None:
    """Send this process's Redis calls to ``url`` from now on (the app stays cached)."""
    import hangar.redis_async as redis_async

    await redis_async.close_redis()
    settings.REDIS_URL = url


async def _together(parse_client: httpx.AsyncClient, tenant: Tenant, count: int) -> list[httpx.Response]:
    return await asyncio.gather(
        *(parse_client.get("/parse/serverInfo", headers=tenant.parse_headers("master")) for _ in range(count))
    )


async def test_a_batch_whose_round_trip_fails_once_still_admits_every_member(parse_client, warm_app, monkeypatch):
    sizes = _recorded_script(monkeypatch, fail_first=True)
    answers = await _together(parse_client, warm_app, 8)
    assert [answer.status_code for answer in answers] == [200] * 8
    assert sizes[0] > 1  # several requests shared the round trip that failed
    assert sizes[1 : 1 + sizes[0]] == [1] * sizes[0]  # then each of them made its own call


async def test_with_redis_down_each_member_answers_503_after_its_own_try(parse_client, warm_app, monkeypatch, settings):
    sizes = _recorded_script(monkeypatch, fail_first=False)
    await _use_redis_at(f"redis://127.0.0.1:{_free_port()}/0", settings)  # nothing listens there: refused at once
    answers = await _together(parse_client, warm_app, 6)
    for answer in answers:
        assert (answer.status_code, answer.headers["retry-after"], answer.json()["code"]) == (503, "1", 100)
    assert sizes[0] > 1
    assert sizes[1:] == [1] * sizes[0]


async def test_a_batch_that_timed_out_is_not_retried_by_each_member(parse_client, warm_app, monkeypatch, settings):
    """A Redis that does not answer is not asked again by every member: the wait stays two deadlines."""
    sizes = _recorded_script(monkeypatch, fail_first=False)

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    settings.HANGAR_REDIS_TIMEOUT_SECONDS = 0.2
    await _use_redis_at(f"redis://127.0.0.1:{server.sockets[0].getsockname()[1]}/0", settings)
    try:
        started = time.monotonic()
        answers = await _together(parse_client, warm_app, 4)
        assert [answer.status_code for answer in answers] == [503] * 4
        assert time.monotonic() - started < 2.0
        assert len(sizes) == 1  # one shared round trip (redis-py's own retry inside it), none per member
    finally:
        server.close()


async def test_requests_of_several_apps_share_one_round_trip_and_each_gets_its_own_counters(
    parse_client, warm_app, tenant_b, monkeypatch
):
    """Spread traffic costs one Redis call per loop turn too, and a key rotated in one app is not hidden
    by another app's counters read in the same round trip."""
    from asgiref.sync import sync_to_async

    from tenants.services import app_key_rotate

    old_rest = tenant_b.keys["rest"]
    assert (await parse_client.get("/parse/serverInfo", headers=tenant_b.parse_headers("master"))).status_code == 200
    await sync_to_async(app_key_rotate)(
        actor=tenant_b.developer, organization=tenant_b.organization, app_pk=tenant_b.app.pk, kind="rest"
    )
    sizes = _recorded_script(monkeypatch, fail_first=False)
    stale_b = {"X-Parse-Application-Id": tenant_b.application_id, "X-Parse-REST-API-Key": old_rest}
    answers = await asyncio.gather(*(
        parse_client.get("/parse/config", headers=warm_app.parse_headers() if i % 2 else stale_b)
        for i in range(8)
    ))  # fmt: skip
    assert [answer.status_code for answer in answers[1::2]] == [200] * 4  # tenant_a's own key
    assert all(answer.status_code in (401, 403) for answer in answers[0::2])  # tenant_b's rotated key
    assert sizes[0] == 8  # both apps' requests in one round trip
