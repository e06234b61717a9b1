"""Retries with backoff, the per-provider rate limit, badge increments, localized payloads, bad queries,
and isolation between apps."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from hangar.messaging.adapters.base import DeliveryOutcome, OutcomeKind
from hangar.messaging.batch_sends import batch_send
from hangar.redis_async import get_redis
from tests.conftest import Tenant
from tests.messaging.engine_support import (
    Queue,
    RecordingProvider,
    campaign_record,
    delivery_states,
    installation_of,
    installations_create,
    providers_of,
    push_status_of,
    run_campaign,
)

pytestmark = pytest.mark.django_db(transaction=True)
T0 = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)


def _android(count: int, prefix: str = "i", token: str = "t") -> list[dict[str, object]]:  # noqa: S107 (a token prefix)
    return [
        {"objectId": f"{prefix}{n:03d}", "deviceType": "android", "deviceToken": f"{token}{n}"} for n in range(count)
    ]


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def test_transient_errors_are_retried_with_backoff_then_given_up(tenant_a: Tenant, settings):
    settings.HANGAR_PUSH_RETRY_BASE_SECONDS = 5
    settings.HANGAR_PUSH_MAX_ATTEMPTS = 3
    app = tenant_a.app.pk
    await installations_create(app, _android(2))
    await campaign_record(app, "r1", pushTime=T0.strftime("%Y-%m-%dT%H:%M:%S.000Z"))

    def script(target, before):  # i000 recovers on its 3rd try (Retry-After 30 on the first); i001 never does
        if target.installation_object_id == "i000" and before >= 2:
            return DeliveryOutcome.sent()
        return DeliveryOutcome(OutcomeKind.RETRY, error="UNAVAILABLE", retry_after_seconds=30 if before == 0 else None)

    fcm, clock, queue = RecordingProvider(script=script), Clock(T0), Queue()
    await run_campaign(app, "r1", queue, now=T0)
    await queue.drain(providers_of(fcm), clock=clock)
    assert set((await delivery_states(app, "r1")).values()) == {"queued"}

    assert len(fcm.sends) == 2
    # Not sooner than the provider's Retry-After (30 s beats the first backoff of 5 s).
    clock.now = T0 + timedelta(seconds=29)
    early = Queue()
    await _resend_all(app, "r1", early, fcm, clock)
    assert len(fcm.sends) == 2  # not due yet

    clock.now = T0 + timedelta(seconds=31)
    await _resend_all(app, "r1", Queue(), fcm, clock)
    assert len(fcm.sends) == 4  # second try of both; next backoff is 5 * 2 = 10 s
    clock.now = T0 + timedelta(seconds=40)
    await _resend_all(app, "r1", Queue(), fcm, clock)
    assert len(fcm.sends) == 4
    clock.now = T0 + timedelta(seconds=42)
    await _resend_all(app, "r1", Queue(), fcm, clock)
    assert len(fcm.sends) == 6
    assert await delivery_states(app, "r1") == {"i000": "sent", "i001": "failed"}
    status = await push_status_of(app, "r1")
    assert (status["numSent"], status["numFailed"], status["status"]) == (1, 1, "succeeded")


async def _resend_all(app: int, campaign_id: str, queue: Queue, provider: RecordingProvider, clock: Clock) -> None:
    """What the tick would queue: every delivery of the campaign (those not due are left alone by the claim)."""
    from hangar.datastore.connection import app_transaction

    async with app_transaction(app) as conn:
        ids = [row[0] for row in await conn.fetch_all(
            "SELECT id FROM messaging_pushdelivery WHERE app_id = %s AND campaign_id = %s", [app, campaign_id]
        )]  # fmt: skip
    await batch_send(
        app_pk=app, campaign_id=campaign_id, delivery_ids=ids, task_id=f"retry-{clock.now.timestamp()}",
        provider_for=providers_of(provider), localize=None, enqueue=queue.enqueue, clock=clock,
    )  # fmt: skip


async def test_retry_orders_carry_the_backoff_as_countdown(tenant_a: Tenant, settings):
    settings.HANGAR_PUSH_RETRY_BASE_SECONDS = 5
    app = tenant_a.app.pk
    await installations_create(app, _android(1))
    await campaign_record(app, "r2")
    fcm = RecordingProvider(script=lambda t, b: DeliveryOutcome(OutcomeKind.RETRY, retry_after_seconds=30))
    queue = Queue()
    await run_campaign(app, "r2", queue)
    (order,) = queue.orders
    result = await batch_send(
        app_pk=app, campaign_id="r2", delivery_ids=order.delivery_ids, task_id="x", provider_for=providers_of(fcm),
        localize=None, enqueue=Queue().enqueue,
    )  # fmt: skip
    assert result.retried == 1
    (when,) = result.retry_at.values()
    assert 29 < (when - datetime.now(UTC)).total_seconds() <= 30


async def test_the_provider_rate_limit_spreads_sends_and_defers_what_cannot_wait(tenant_a: Tenant, settings):
    app = tenant_a.app.pk
    await get_redis().delete(f"hangar:push:rate:{app}:fcm")
    settings.HANGAR_PUSH_RATE_LIMITS = {"fcm": 20.0, "default": 0.0}
    await installations_create(app, _android(30))
    await campaign_record(app, "q1")
    queue, fcm = Queue(), RecordingProvider()
    await run_campaign(app, "q1", queue)
    started = time.monotonic()
    await queue.drain(providers_of(fcm))
    # A full bucket of 20, then 10 more at 20 a second.
    assert time.monotonic() - started >= 0.45
    assert len(fcm.received_by()) == 30

    settings.HANGAR_PUSH_RATE_LIMITS = {"fcm": 0.1, "default": 0.0}  # a token every 10 s: longer than a task waits
    await get_redis().delete(f"hangar:push:rate:{app}:fcm")
    await installations_create(app, _android(3, prefix="slow", token="s"))
    await campaign_record(app, "q2", where={"objectId": {"$in": ["slow000", "slow001", "slow002"]}})
    await run_campaign(app, "q2", queue)
    (order,) = queue.orders
    result = await batch_send(
        app_pk=app, campaign_id="q2", delivery_ids=order.delivery_ids, task_id="y", provider_for=providers_of(fcm),
        localize=None, enqueue=Queue().enqueue,
    )  # fmt: skip
    assert result.sent == 1  # the bucket's one token
    assert sorted(result.deferred) == sorted(order.delivery_ids)[1:]  # queued again, nothing lost
    assert sorted((await delivery_states(app, "q2")).values()) == ["queued", "queued", "sent"]


async def test_badge_increment_sends_each_its_own_badge_once(tenant_a: Tenant):
    app = tenant_a.app.pk
    await installations_create(
        app,
        [
            {"objectId": "b1", "deviceType": "ios", "deviceToken": "t1", "badge": 3},
            {"objectId": "b2", "deviceType": "ios", "deviceToken": "t2"},
            {"objectId": "b3", "deviceType": "ios", "deviceToken": "t3", "badge": "junk"},
        ],
    )
    await campaign_record(app, "g1", data={"alert": "hi", "badge": {"__op": "Increment", "amount": 2}})
    queue, apns = Queue(), RecordingProvider(name="apns")
    await run_campaign(app, "g1", queue)
    orders = list(queue.orders)
    await queue.drain(providers_of(apns))
    for order in orders:  # a duplicate of every batch changes nothing
        await batch_send(
            app_pk=app, campaign_id="g1", delivery_ids=order.delivery_ids, task_id="dup",
            provider_for=providers_of(apns), localize=None,
        )  # fmt: skip
    assert {t.installation_object_id: t.badge for _, t in apns.sends} == {"b1": 5, "b2": 2, "b3": 2}
    assert [(await installation_of(app, i))["badge"] for i in ("b1", "b2", "b3")] == [5, 2, 2]
    assert all("badge" not in n.data for n, _ in apns.sends)  # the per-target badge, not the operation


async def test_localized_alerts_follow_each_installation_locale(tenant_a: Tenant):
    app = tenant_a.app.pk
    await installations_create(
        app,
        [
            {"objectId": "fr", "deviceType": "android", "deviceToken": "t1", "localeIdentifier": "fr-FR"},
            {"objectId": "en", "deviceType": "android", "deviceToken": "t2", "localeIdentifier": "en-US"},
        ],
    )
    await campaign_record(app, "z1", data={"alert": "Hello", "alert-fr": "Bonjour"})

    def localize(data, locale):  # type: ignore[no-untyped-def]
        sent = {k: v for k, v in data.items() if not k.startswith("alert-")}
        sent["alert"] = data.get(f"alert-{locale.split('-')[0]}", data["alert"])
        return sent

    queue, fcm = Queue(), RecordingProvider()
    await run_campaign(app, "z1", queue)
    await queue.drain(providers_of(fcm), localize=localize)
    assert {t.installation_object_id: n.data["alert"] for n, t in fcm.sends} == {"fr": "Bonjour", "en": "Hello"}


@pytest.mark.parametrize("where", [{"$bogus": 1}, {"deviceType": {"$regex": "("}}, [1, 2]])
async def test_an_invalid_query_fails_the_campaign_with_a_message(tenant_a: Tenant, where):
    app = tenant_a.app.pk
    await installations_create(app, _android(1))
    await campaign_record(app, "v1", where=where)
    queue = Queue()
    assert await run_campaign(app, "v1", queue) == "failed"
    status = await push_status_of(app, "v1")
    assert status["status"] == "failed"
    assert status["errorMessage"]
    assert queue.orders == []


async def test_a_campaign_reads_only_its_own_apps_installations(tenant_a: Tenant, tenant_b: Tenant):
    a, b = tenant_a.app.pk, tenant_b.app.pk
    await installations_create(a, _android(3, token="a-"))
    await installations_create(b, _android(3, token="b-"))  # same objectIds, same fields
    await campaign_record(a, "x1", data={"alert": "for a"})
    queue = Queue()
    fcm = RecordingProvider(script=lambda t, b: DeliveryOutcome(OutcomeKind.INVALID_TOKEN, error="UNREGISTERED"))
    await run_campaign(a, "x1", queue)
    a_orders = list(queue.orders)
    await queue.drain(providers_of(fcm))
    assert sorted(t.device_token for _, t in fcm.sends) == ["a-0", "a-1", "a-2"]
    assert [(await installation_of(b, f"i{n:03d}"))["deviceToken"] for n in range(3)] == ["b-0", "b-1", "b-2"]

    # App B naming A's campaign and A's delivery ids reaches nothing of A.
    intruder = RecordingProvider()
    await campaign_record(b, "x1", data={"alert": "for b"})
    for order in a_orders:
        await batch_send(
            app_pk=b, campaign_id="x1", delivery_ids=order.delivery_ids, task_id="b",
            provider_for=providers_of(intruder), localize=None,
        )  # fmt: skip
    assert intruder.sends == []
    assert await delivery_states(b, "x1") == {}
    assert (await push_status_of(b, "x1"))["status"] == "pending"


async def test_a_provider_that_cannot_be_had_means_another_try_not_a_lost_send(tenant_a: Tenant):
    app = tenant_a.app.pk
    await installations_create(app, _android(2))
    await campaign_record(app, "u1")
    queue = Queue()
    await run_campaign(app, "u1", queue)

    async def broken_provider_for(**kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("credentials cannot be decrypted")

    (order,) = queue.orders
    result = await batch_send(
        app_pk=app, campaign_id="u1", delivery_ids=order.delivery_ids, task_id="p", provider_for=broken_provider_for,
        localize=None, enqueue=Queue().enqueue,
    )  # fmt: skip
    assert result.retried == 2
    assert set((await delivery_states(app, "u1")).values()) == {"queued"}
    assert (await push_status_of(app, "u1"))["status"] == "running"
