"""Exactly once under redelivery: a batch task whose worker died between claim and mark, run again.

The worker's death is a BaseException raised from inside the provider call (as a SIGKILL
would stop it there): the claims are committed, the outcomes are not. The real-process
version, a Celery worker SIGKILLed mid-campaign, is tests/messaging/test_engine_sigkill.py.
"""

from __future__ import annotations

import pytest

from hangar.messaging.batch_sends import batch_send
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


class WorkerKilledError(BaseException):
    """Stands for the process ending inside the provider call."""


class DyingProvider(RecordingProvider):
    """Records the sends of its first ``die_on_call``-th call, then dies before any outcome is returned."""

    def __init__(self, die_on_call: int) -> None:
        super().__init__()
        self.calls = 0
        self.die_on_call = die_on_call

    async def send_push(self, notification, targets):  # type: ignore[no-untyped-def]
        self.calls += 1
        outcomes = await super().send_push(notification, targets)
        if self.calls == self.die_on_call:
            raise WorkerKilledError
        return outcomes


async def _campaign_with(tenant: Tenant, count: int, campaign_id: str) -> Queue:
    app = tenant.app.pk
    await installations_create(
        app, [{"objectId": f"i{n:04d}", "deviceType": "android", "deviceToken": f"t{n}"} for n in range(count)]
    )
    await campaign_record(app, campaign_id)
    queue = Queue()
    await run_campaign(app, campaign_id, queue)
    return queue


async def test_a_redelivered_batch_resends_only_the_unknown_claim_under_the_same_ids(tenant_a: Tenant, settings):
    settings.HANGAR_PUSH_CLAIM_SIZE = 10
    app = tenant_a.app.pk
    queue = await _campaign_with(tenant_a, 35, "k1")
    (order,) = queue.orders
    dying = DyingProvider(die_on_call=2)  # the first claim of 10 is marked, the second dies in flight
    with pytest.raises(WorkerKilledError):
        await batch_send(
            app_pk=app, campaign_id="k1", delivery_ids=order.delivery_ids, task_id="task-1",
            provider_for=providers_of(dying), localize=None,
        )  # fmt: skip
    states = await delivery_states(app, "k1")
    assert sorted(states.values()).count("sent") == 10
    assert sorted(states.values()).count("sending") == 10  # claimed, outcome unknown
    first_ids = {t.installation_object_id: t.delivery_id for _, t in dying.sends}

    # Another task (a duplicate message, the tick) never takes what a living task may still be sending.
    other = RecordingProvider()
    await batch_send(
        app_pk=app, campaign_id="k1", delivery_ids=order.delivery_ids, task_id="task-other",
        provider_for=providers_of(other), localize=None,
    )  # fmt: skip
    assert not {t.installation_object_id for _, t in other.sends} & {
        i for i, s in (await delivery_states(app, "k1")).items() if s == "sending"
    }

    # The broker redelivers the same task (same id) to a new worker.
    again = RecordingProvider()
    result = await batch_send(
        app_pk=app, campaign_id="k1", delivery_ids=order.delivery_ids, task_id="task-1",
        provider_for=providers_of(again), localize=None,
    )  # fmt: skip
    assert result.resent_unknown == 10
    received: dict[str, set[str]] = {}
    for provider in (dying, other, again):
        for _, target in provider.sends:
            received.setdefault(target.installation_object_id, set()).add(target.delivery_id)
    # Everybody reached; nobody under two different ids: a resend is the same message to the provider.
    assert set(received) == {f"i{n:04d}" for n in range(35)}
    assert all(len(ids) == 1 for ids in received.values())
    resent = [t.installation_object_id for _, t in again.sends]
    assert len(resent) == 10
    assert all(first_ids[i] == received[i].pop() for i in resent)
    status = await push_status_of(app, "k1")
    assert (status["numSent"], status["numFailed"], status["count"], status["status"]) == (35, 0, 35, "succeeded")


async def test_a_repeated_run_and_batch_send_nothing_twice(tenant_a: Tenant):
    app = tenant_a.app.pk
    queue = await _campaign_with(tenant_a, 20, "k2")
    fcm = RecordingProvider()
    orders = list(queue.orders)
    await queue.drain(providers_of(fcm))
    # The same run and the same batches once more (a duplicate message, a retried task).
    assert await run_campaign(app, "k2", queue) == "done"
    for order in orders:
        await batch_send(
            app_pk=app, campaign_id="k2", delivery_ids=order.delivery_ids, task_id="dup",
            provider_for=providers_of(fcm), localize=None,
        )  # fmt: skip
    assert fcm.received_by() == {f"i{n:04d}": 1 for n in range(20)}
    status = await push_status_of(app, "k2")
    assert (status["numSent"], status["count"]) == (20, 20)


async def test_a_resolution_resumed_after_a_crash_writes_and_queues_only_what_is_missing(tenant_a: Tenant):
    app = tenant_a.app.pk
    await installations_create(
        app, [{"objectId": f"i{n:04d}", "deviceType": "android", "deviceToken": f"t{n}"} for n in range(25)]
    )
    await campaign_record(app, "k3")

    class CrashAfterFirstPage(Queue):
        async def enqueue(self, order):  # type: ignore[no-untyped-def]
            await super().enqueue(order)
            raise WorkerKilledError

    crashing = CrashAfterFirstPage()
    with pytest.raises(WorkerKilledError):
        await run_campaign(app, "k3", crashing, page_size=10)
    assert len(await delivery_states(app, "k3")) == 10
    resumed = Queue()
    assert await run_campaign(app, "k3", resumed, page_size=10) == "resolved"  # same task id: takes the lease over
    fcm = RecordingProvider()
    crashing.orders.extend(resumed.orders)
    await crashing.drain(providers_of(fcm))
    assert fcm.received_by() == {f"i{n:04d}": 1 for n in range(25)}
    assert (await push_status_of(app, "k3"))["count"] == 25
