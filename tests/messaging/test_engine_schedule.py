"""Scheduled and local-time sends, expiration, and the tick that keeps due work moving after restarts.

Times are given to the engine (an injected clock), so nothing sleeps: "later" is a later ``now``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from asgiref.sync import sync_to_async

from hangar.messaging.push_tick import push_tick
from tests.conftest import Tenant
from tests.messaging.engine_support import (
    Queue,
    RecordingProvider,
    campaign_record,
    delivery_states,
    installations_create,
    providers_of,
    push_status_of,
    run_campaign,
)

pytestmark = pytest.mark.django_db(transaction=True)
T0 = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


async def _tick(now: datetime):  # type: ignore[no-untyped-def]
    return await sync_to_async(push_tick)(now=now, enqueue_runs=False)


async def test_a_scheduled_campaign_waits_for_its_time_and_the_tick_starts_it(tenant_a: Tenant):
    app = tenant_a.app.pk
    await installations_create(app, [{"objectId": "a", "deviceType": "android", "deviceToken": "t"}])
    await campaign_record(app, "s1", pushTime=_iso(T0 + timedelta(minutes=30)), status="scheduled")
    queue = Queue()
    assert await run_campaign(app, "s1", queue, now=T0) == "not due"
    assert (await _tick(T0)).campaigns == []
    # Whatever processes restarted meanwhile, the due time is in the row: the tick finds it.
    later = T0 + timedelta(minutes=30, seconds=5)
    assert (app, "s1") in (await _tick(later)).campaigns
    assert await run_campaign(app, "s1", queue, now=later) == "resolved"
    fcm = RecordingProvider()
    await queue.drain(providers_of(fcm), clock=lambda: later)
    assert fcm.received_by() == {"a": 1}
    assert (await push_status_of(app, "s1"))["status"] == "succeeded"


async def test_a_local_time_send_reaches_each_time_zone_at_its_own_wall_clock_time(tenant_a: Tenant):
    app = tenant_a.app.pk
    await installations_create(
        app,
        [
            {"objectId": "tokyo", "deviceType": "ios", "deviceToken": "t1", "timeZone": "Asia/Tokyo"},
            {"objectId": "paris", "deviceType": "android", "deviceToken": "t2", "timeZone": "Europe/Paris"},
            {"objectId": "nozone", "deviceType": "android", "deviceToken": "t3"},
            {"objectId": "la", "deviceType": "android", "deviceToken": "t4", "timeZone": "America/Los_Angeles"},
        ],
    )
    # 09:00 wherever the installation is (no zone in pushTime).
    await campaign_record(app, "l1", pushTime="2030-05-01T09:00:00.000", status="scheduled")
    fcm, apns = RecordingProvider(), RecordingProvider(name="apns")
    queue = Queue()
    earliest = datetime(2030, 4, 30, 19, 0, tzinfo=UTC)  # 09:00 at UTC+14
    assert await run_campaign(app, "l1", queue, now=earliest - timedelta(minutes=1)) == "not due"
    assert await run_campaign(app, "l1", queue, now=earliest) == "resolved"
    assert queue.orders == []  # nobody's 09:00 yet
    assert set((await delivery_states(app, "l1")).values()) == {"queued"}

    tokyo_nine = datetime(2030, 5, 1, 0, 0, tzinfo=UTC)
    paris_nine = datetime(2030, 5, 1, 7, 0, tzinfo=UTC)  # CEST, UTC+2
    utc_nine = datetime(2030, 5, 1, 9, 0, tzinfo=UTC)
    la_nine = datetime(2030, 5, 1, 16, 0, tzinfo=UTC)  # PDT, UTC-7
    seen = []
    for moment in (tokyo_nine, paris_nine, utc_nine, la_nine):
        queue.orders.extend((await _tick(moment - timedelta(seconds=1))).batches)
        assert queue.orders == []  # not a second early
        queue.orders.extend((await _tick(moment + timedelta(seconds=2))).batches)
        await queue.drain(providers_of(fcm, apns), clock=lambda m=moment: m + timedelta(seconds=3))
        seen.append(sorted(t.installation_object_id for _, t in fcm.sends + apns.sends))
    assert seen == [["tokyo"], ["paris", "tokyo"], ["nozone", "paris", "tokyo"], ["la", "nozone", "paris", "tokyo"]]
    status = await push_status_of(app, "l1")
    assert status["status"] == "succeeded"
    assert status["sentPerUTCOffset"] == {"9": 1, "2": 1, "0": 1, "-7": 1}
    assert status["sentPerType"] == {"ios": 1, "android": 3}


async def test_past_the_expiration_nothing_more_is_sent_and_the_rest_fail_as_expired(tenant_a: Tenant, settings):
    settings.HANGAR_PUSH_BATCH_SIZE = 2
    app = tenant_a.app.pk
    await installations_create(
        app, [{"objectId": f"i{n}", "deviceType": "android", "deviceToken": f"t{n}"} for n in range(4)]
    )
    await campaign_record(app, "e1", pushTime=_iso(T0), expiration_interval=60)
    queue = Queue()
    await run_campaign(app, "e1", queue, now=T0)
    fcm = RecordingProvider()
    first, second = queue.orders
    queue.orders = [first]
    await queue.drain(providers_of(fcm), clock=lambda: T0 + timedelta(seconds=30))
    queue.orders = [second]
    await queue.drain(providers_of(fcm), clock=lambda: T0 + timedelta(seconds=61))
    assert len(fcm.sends) == 2
    status = await push_status_of(app, "e1")
    assert (status["numSent"], status["numFailed"], status["status"]) == (2, 2, "succeeded")
    states = await delivery_states(app, "e1")
    assert sorted(states.values()) == ["failed", "failed", "sent", "sent"]


async def test_a_campaign_already_expired_is_failed_without_a_send(tenant_a: Tenant):
    app = tenant_a.app.pk
    await installations_create(app, [{"objectId": "a", "deviceType": "android", "deviceToken": "t"}])
    await campaign_record(app, "e2", expiry=int((T0 - timedelta(minutes=1)).timestamp() * 1000))
    assert await run_campaign(app, "e2", Queue(), now=T0) == "failed"
    status = await push_status_of(app, "e2")
    assert status["status"] == "failed"
    assert "expired" in status["errorMessage"]


async def test_a_campaign_whose_message_was_lost_is_started_by_the_tick(tenant_a: Tenant):
    """campaign_enqueue's message never reached a worker (broker down, process died): the row is enough."""
    app = tenant_a.app.pk
    await campaign_record(app, "p1")
    assert (app, "p1") in (await _tick(datetime.now(UTC))).campaigns


async def test_deliveries_whose_batch_was_lost_are_queued_again_by_the_tick(tenant_a: Tenant, settings):
    settings.HANGAR_PUSH_REQUEUE_AFTER_SECONDS = 60
    app = tenant_a.app.pk
    await installations_create(app, [{"objectId": "a", "deviceType": "android", "deviceToken": "t"}])
    await campaign_record(app, "p2", pushTime=_iso(T0))
    lost = Queue()
    await run_campaign(app, "p2", lost, now=T0)  # its batch never reaches a worker
    assert (await _tick(T0 + timedelta(seconds=30))).batches == []  # may still be in the queue
    (order,) = (await _tick(T0 + timedelta(seconds=61))).batches
    assert order.delivery_ids == lost.orders[0].delivery_ids
    queue, fcm = Queue([order]), RecordingProvider()
    await queue.drain(providers_of(fcm), clock=lambda: T0 + timedelta(seconds=62))
    assert fcm.received_by() == {"a": 1}


async def test_delivery_records_of_ended_sends_are_forgotten_after_the_retention(tenant_a: Tenant, settings):
    settings.HANGAR_PUSH_DELIVERY_RETENTION_DAYS = 30
    app = tenant_a.app.pk
    await installations_create(app, [{"objectId": "a", "deviceType": "android", "deviceToken": "t"}])
    await campaign_record(app, "old1", pushTime=_iso(T0))
    queue = Queue()
    await run_campaign(app, "old1", queue, now=T0)
    await queue.drain(providers_of(RecordingProvider()), clock=lambda: T0)
    await _tick(T0 + timedelta(days=29))
    assert await delivery_states(app, "old1") == {"a": "sent"}
    await _tick(T0 + timedelta(days=31))
    assert await delivery_states(app, "old1") == {}
    assert (await push_status_of(app, "old1"))["numSent"] == 1  # the counts stay
