"""The push engine when Redis (its per-provider rate limit) goes away mid-campaign, and comes back;
and when the database drops its connections between a send and its mark.

A batch whose rate-limit bucket cannot be reached fails promptly (within the Redis deadline),
before anything of that piece is sent; Celery retries the task under the same id, which
reclaims what the failed run had claimed. Counted at the provider: every installation once,
none skipped, the campaign ``succeeded``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import psycopg
import pytest
import redis.exceptions
from asgiref.sync import sync_to_async
from django.db import connection

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


async def _sixty_sent_twenty(settings, app: int, campaign: str, fcm: RecordingProvider) -> Queue:  # type: ignore[no-untyped-def]
    """A campaign to 60 installations resolved into 3 batches of 20 (claims of 10), the first sent; the rest queued."""
    settings.HANGAR_PUSH_BATCH_SIZE = 20
    settings.HANGAR_PUSH_CLAIM_SIZE = 10
    await installations_create(
        app, [{"objectId": f"i{n:03d}", "deviceType": "android", "deviceToken": f"tok-{n}"} for n in range(60)]
    )
    await campaign_record(app, campaign)
    queue = Queue()
    assert await run_campaign(app, campaign, queue) == "resolved"
    assert len(queue.orders) == 3
    await Queue([queue.orders.pop(0)]).drain(providers_of(fcm), task_id="first")
    assert len(fcm.sends) == 20
    return queue


async def test_redis_down_mid_campaign_fails_the_batch_promptly_and_its_retry_sends_each_once(
    tenant_a: Tenant, settings, rate_limited_on_own_redis: RedisProcess
) -> None:
    app, fcm = tenant_a.app.pk, RecordingProvider()
    queue = await _sixty_sent_twenty(settings, app, "outage", fcm)

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


class DatabaseLostDuringSend(RecordingProvider):
    """Sends, then every data-plane connection of the test database is terminated (as a restart or a
    failover does) before the engine can mark what it sent: once, on the first send it sees."""

    armed: bool = False

    async def send_push(self, notification, targets):  # type: ignore[no-untyped-def]
        outcomes = await super().send_push(notification, targets)
        if self.armed:
            self.armed = False
            await sync_to_async(_terminate_data_plane_sessions)()
        return outcomes


def _terminate_data_plane_sessions() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = 'hangar-dataplane'"
        )
        assert cursor.fetchone()[0] > 0


async def test_the_database_lost_between_send_and_mark_resends_only_that_claim_under_its_collapse_id(
    tenant_a: Tenant, settings
) -> None:
    app, fcm = tenant_a.app.pk, DatabaseLostDuringSend()
    queue = await _sixty_sent_twenty(settings, app, "lost", fcm)

    second = queue.orders.pop(0)
    fcm.armed = True
    with pytest.raises(psycopg.OperationalError):
        await Queue([second]).drain(providers_of(fcm), task_id="second")
    lost_claim = {target.installation_object_id for _, target in fcm.sends[20:]}
    assert len(lost_claim) == 10  # sent, never marked: the one claim in flight when the database went

    # Celery's autoretry runs the task again under the same id, on fresh connections.
    await Queue([second]).drain(providers_of(fcm), task_id="second")
    await queue.drain(providers_of(fcm), task_id="third")

    received = fcm.received_by()
    assert set(received) == {f"i{n:03d}" for n in range(60)}  # nobody lost
    assert {name for name, count in received.items() if count > 1} == lost_claim  # only that claim twice
    assert max(received.values()) == 2
    # The resend carries the campaign's collapse id, so the provider shows the device one notification.
    assert {notification.push_id for notification, _ in fcm.sends} == {"lost"}
    for name in lost_claim:  # and each device's two copies the same delivery id (the APNs id, FCM's collapse key)
        assert len({target.delivery_id for _, target in fcm.sends if target.installation_object_id == name}) == 1
    status = await push_status_of(app, "lost")
    assert (status["status"], status["numSent"], status["numFailed"]) == ("succeeded", 60, 0)
