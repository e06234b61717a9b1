"""The push engine when Redis (its per-provider rate limit) goes away mid-campaign, and comes back.

A batch whose rate-limit bucket cannot be reached fails promptly (within the Redis deadline),
before anything of that piece is sent; Celery retries the task under the same id, which
reclaims what the failed run had claimed. Counted at the provider: every installation once,
none skipped, the campaign ``succeeded``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
import redis.exceptions

from hangar.loop_local import LoopLocal
from tests.conftest import Tenant
from tests.faults.conftest import RedisProcess
from tests.messaging.engine_support import (
    Queue,
    RecordingProvider,
    campaign_record,
    installations_create,
    providers_of,
    push_status_of,
    run_campaign,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
async def rate_limited_on_own_redis(settings, monkeypatch) -> AsyncIterator[RedisProcess]:  # type: ignore[no-untyped-def]
    import hangar.redis_async as redis_async

    server = RedisProcess()
    server.start()
    settings.REDIS_URL = server.url
    settings.HANGAR_REDIS_TIMEOUT_SECONDS = 0.5
    settings.HANGAR_PUSH_RATE_LIMITS = {"default": 100_000}  # a limit, so every piece asks Redis
    monkeypatch.setattr(redis_async, "_clients", LoopLocal())
    try:
        yield server
    finally:
        await redis_async.close_redis()
        server.stop()


async def test_redis_down_mid_campaign_fails_the_batch_promptly_and_its_retry_sends_each_once(
    tenant_a: Tenant, settings, rate_limited_on_own_redis: RedisProcess
) -> None:
    settings.HANGAR_PUSH_BATCH_SIZE = 20
    settings.HANGAR_PUSH_CLAIM_SIZE = 10
    app = tenant_a.app.pk
    await installations_create(
        app, [{"objectId": f"i{n:03d}", "deviceType": "android", "deviceToken": f"tok-{n}"} for n in range(60)]
    )
    await campaign_record(app, "outage")
    queue, fcm = Queue(), RecordingProvider()
    assert await run_campaign(app, "outage", queue) == "resolved"
    assert len(queue.orders) == 3
    first = queue.orders.pop(0)
    await Queue([first]).drain(providers_of(fcm), task_id="first")
    assert len(fcm.sends) == 20

    rate_limited_on_own_redis.stop()
    second = queue.orders.pop(0)
    started = time.monotonic()
    with pytest.raises((redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)):
        await Queue([second]).drain(providers_of(fcm), task_id="second")
    assert time.monotonic() - started < 5  # the Redis deadline, not a hang
    assert len(fcm.sends) == 20  # nothing of the failed piece went out

    rate_limited_on_own_redis.start()  # the same port
    # Celery's autoretry runs the task again under the same id: it reclaims its own claims.
    await Queue([second]).drain(providers_of(fcm), task_id="second")
    await queue.drain(providers_of(fcm), task_id="third")

    assert fcm.received_by() == {f"i{n:03d}": 1 for n in range(60)}
    status = await push_status_of(app, "outage")
    assert (status["status"], status["numSent"], status["numFailed"]) == ("succeeded", 60, 0)
