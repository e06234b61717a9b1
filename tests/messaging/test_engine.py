"""The push engine from a recorded campaign to one delivery per installation: batching, counts, outcomes."""

from __future__ import annotations

import pytest

from hangar.messaging.adapters.base import DeliveryOutcome, OutcomeKind
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


def _installations(count: int, **fields: object) -> list[dict[str, object]]:
    return [
        {"objectId": f"i{n:05d}", "deviceType": "android", "deviceToken": f"tok-{n}", "channels": ["news"], **fields}
        for n in range(count)
    ]


async def test_every_matching_installation_gets_one_delivery_in_batches(tenant_a: Tenant, settings):
    settings.HANGAR_PUSH_BATCH_SIZE = 40
    app = tenant_a.app.pk
    await installations_create(app, _installations(130))
    await installations_create(app, [{"objectId": "notoken", "deviceType": "android", "channels": ["news"]}])
    await installations_create(
        app, [{"objectId": "other", "deviceType": "android", "deviceToken": "x", "channels": ["sport"]}]
    )
    await campaign_record(app, "c1", where={"channels": {"$in": ["news"]}})
    queue, fcm = Queue(), RecordingProvider()

    assert await run_campaign(app, "c1", queue, page_size=50) == "resolved"
    assert [len(order.delivery_ids) for order in queue.orders] == [40, 10, 40, 10, 30]  # per page, per 40
    await queue.drain(providers_of(fcm))

    assert fcm.received_by() == {f"i{n:05d}": 1 for n in range(130)}
    status = await push_status_of(app, "c1")
    assert (status["status"], status["numSent"], status["numFailed"], status["count"]) == ("succeeded", 130, 0, 130)
    assert status["sentPerType"] == {"android": 130}
    assert {target.delivery_id for _, target in fcm.sends} == {
        str(i) for i in {int(t.delivery_id) for _, t in fcm.sends}
    }
    assert len({target.delivery_id for _, target in fcm.sends}) == 130


async def test_outcomes_invalid_tokens_are_removed_and_counted_per_type(tenant_a: Tenant, settings):
    settings.HANGAR_PUSH_RETRY_BASE_SECONDS = 0
    app = tenant_a.app.pk
    await installations_create(app, _installations(4))
    await installations_create(app, [{"objectId": "ios1", "deviceType": "ios", "deviceToken": "apns-tok"}])
    await campaign_record(app, "c2")

    def script(target, before):
        return {
            "i00000": DeliveryOutcome(OutcomeKind.INVALID_TOKEN, error="UNREGISTERED"),
            "i00001": DeliveryOutcome(OutcomeKind.FAILED, error="INVALID_ARGUMENT"),
        }.get(target.installation_object_id, DeliveryOutcome.sent())

    queue, fcm, apns = Queue(), RecordingProvider(script=script), RecordingProvider(name="apns")
    await run_campaign(app, "c2", queue)
    await queue.drain(providers_of(fcm, apns))

    assert await delivery_states(app, "c2") == {
        "i00000": "invalid", "i00001": "failed", "i00002": "sent", "i00003": "sent", "ios1": "sent",
    }  # fmt: skip
    assert "deviceToken" not in await installation_of(app, "i00000")
    assert (await installation_of(app, "i00001"))["deviceToken"] == "tok-1"
    status = await push_status_of(app, "c2")
    assert (status["numSent"], status["numFailed"], status["count"]) == (3, 2, 5)
    assert status["sentPerType"] == {"android": 2, "ios": 1}
    assert status["failedPerType"] == {"android": 2}
    assert status["status"] == "succeeded"
    assert [t.installation_object_id for _, t in apns.sends] == ["ios1"]


async def test_a_lower_query_limit_than_the_page_size_skips_nobody(tenant_a: Tenant, settings):
    settings.HANGAR_MAX_QUERY_LIMIT = 7
    app = tenant_a.app.pk
    await installations_create(app, _installations(30))
    await campaign_record(app, "c3")
    queue, fcm = Queue(), RecordingProvider()
    await run_campaign(app, "c3", queue, page_size=1000)
    await queue.drain(providers_of(fcm))
    assert len(fcm.received_by()) == 30
