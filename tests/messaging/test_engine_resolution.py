"""A campaign's resolution into deliveries: written inside PostgreSQL, or through the data API's find when it must.

Campaigns due at one instant are resolved by one INSERT ... SELECT per page from the compiled
installation query; local-time campaigns, and apps with a beforeFind/afterFind trigger on
``_Installation``, go through ``object_find``. Both must write the very same deliveries.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hangar.caller import Caller
from hangar.datastore.connection import app_transaction
from hangar.datastore.hooks import TriggerHooks, hooks, install_hooks
from hangar.messaging import campaign_runs
from tests.conftest import Tenant
from tests.messaging.engine_support import Queue, campaign_record, installations_create, push_status_of, run_campaign

pytestmark = pytest.mark.django_db(transaction=True)

# Every way an installation's fields can be odd: what each path must read the same.
ODD_INSTALLATIONS: list[dict[str, Any]] = [
    {"objectId": "a1", "deviceType": "android", "deviceToken": "tok-a1", "pushType": "gcm", "channels": ["x"]},
    {"objectId": "a2", "deviceType": "ios", "deviceToken": "tok-a2", "appIdentifier": "com.example.app",
     "localeIdentifier": "fr-FR", "channels": ["x"]},
    {"objectId": "a3", "deviceType": 7, "deviceToken": "tok-a3", "pushType": ["gcm"], "channels": ["x"]},
    {"objectId": "a4", "deviceToken": "tok-a4", "localeIdentifier": None, "channels": ["x"]},
    {"objectId": "b1", "deviceType": "android", "deviceToken": "", "channels": ["x"]},
    {"objectId": "b2", "deviceType": "android", "deviceToken": 12345, "channels": ["x"]},
    {"objectId": "b3", "deviceType": "android", "deviceToken": None, "channels": ["x"]},
    {"objectId": "b4", "deviceType": "android", "channels": ["x"]},
    {"objectId": "c1", "deviceType": "android", "deviceToken": "tok-c1", "channels": ["y"]},
]  # fmt: skip

_COLUMNS = "installation_id, device_type, push_type, device_token, app_identifier, locale, utc_offset, state"


async def _deliveries(app_pk: int, campaign_id: str) -> list[tuple[Any, ...]]:
    async with app_transaction(app_pk) as conn:
        return await conn.fetch_all(
            f"SELECT {_COLUMNS}, due_at, expires_at FROM messaging_pushdelivery "
            "WHERE app_id = %s AND campaign_id = %s ORDER BY installation_id",
            [app_pk, campaign_id],
        )


async def test_both_paths_write_the_same_deliveries(tenant_a: Tenant, monkeypatch: pytest.MonkeyPatch) -> None:
    app = tenant_a.app.pk
    await installations_create(app, ODD_INSTALLATIONS)
    push_time = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    at = push_time.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    where = {"channels": "x"}
    await campaign_record(app, "indb", where=where, pushTime=at, expiration_interval=600)
    await campaign_record(app, "found", where=where, pushTime=at, expiration_interval=600)
    chosen: list[str] = []
    real = campaign_runs._resolves_in_database

    def spy(campaign: Any, caller: Caller) -> bool:
        chosen.append(campaign.campaign_id)
        return real(campaign, caller) and campaign.campaign_id == "indb"

    monkeypatch.setattr(campaign_runs, "_resolves_in_database", spy)
    now = push_time  # the campaigns are due
    for campaign_id in ("indb", "found"):
        assert await run_campaign(app, campaign_id, Queue(), page_size=3, now=now) == "resolved"
    assert chosen == ["indb", "found"]

    in_database, through_find = await _deliveries(app, "indb"), await _deliveries(app, "found")
    assert in_database == through_find
    assert [row[:4] for row in in_database] == [
        ("a1", "android", "gcm", "tok-a1"), ("a2", "ios", "", "tok-a2"), ("a3", "", "", "tok-a3"),
        ("a4", "", "", "tok-a4"),
    ]  # fmt: skip
    assert in_database[1][4:6] == ("com.example.app", "fr-FR")
    assert {row[8] for row in in_database} == {push_time}
    assert {row[9] for row in in_database} == {push_time + timedelta(seconds=600)}
    for campaign_id in ("indb", "found"):
        status = await push_status_of(app, campaign_id)
        assert (status["status"], status["count"]) == ("running", 4)


async def test_a_resumed_resolution_writes_nothing_twice(tenant_a: Tenant) -> None:
    """A run that dies after some pages is resumed from its cursor; a page written before is skipped."""
    app = tenant_a.app.pk
    await installations_create(
        app, [{"objectId": f"r{n:03d}", "deviceType": "android", "deviceToken": f"t{n}"} for n in range(25)]
    )
    await campaign_record(app, "again")
    queue = Queue()
    assert await run_campaign(app, "again", queue, page_size=10) == "resolved"
    async with app_transaction(app) as conn:  # as if the run had died after its first page
        await conn.run(
            "UPDATE messaging_pushcampaignrun SET resolved = false, cursor = '' WHERE app_id = %s AND campaign_id = %s",
            [app, "again"],
        )
    assert await run_campaign(app, "again", queue, page_size=10) == "resolved"
    assert len(await _deliveries(app, "again")) == 25
    assert sum(len(order.delivery_ids) for order in queue.orders) == 25  # the second run queued nothing more
    assert (await push_status_of(app, "again"))["count"] == 25


class _AndroidOnly(TriggerHooks):
    """A beforeFind on _Installation that narrows every find to android devices."""

    def wants(self, *, caller: Caller, kind: str, class_name: str) -> bool:
        return kind == "beforeFind" and class_name == "_Installation"

    async def before_find(
        self, *, caller: Caller, class_name: str, params: dict[str, Any], is_get: bool = False
    ) -> dict[str, Any]:
        return {**params, "where": {"$and": [params.get("where") or {}, {"deviceType": "android"}]}}


async def test_a_before_find_trigger_on_installations_still_shapes_the_audience(tenant_a: Tenant) -> None:
    app = tenant_a.app.pk
    await installations_create(app, ODD_INSTALLATIONS)
    await campaign_record(app, "narrowed", where={"channels": "x"})
    previous = hooks()
    install_hooks(_AndroidOnly())
    try:
        assert await run_campaign(app, "narrowed", Queue()) == "resolved"
    finally:
        install_hooks(previous)
    assert [row[0] for row in await _deliveries(app, "narrowed")] == ["a1"]


async def test_an_invalid_query_fails_the_campaign_with_its_message(tenant_a: Tenant) -> None:
    app = tenant_a.app.pk
    await installations_create(app, ODD_INSTALLATIONS[:1])
    await campaign_record(app, "bad", where={"channels": {"$fancy": 1}})
    assert await run_campaign(app, "bad", Queue()) == "failed"
    status = await push_status_of(app, "bad")
    assert status["status"] == "failed"
    assert "$fancy" in status["errorMessage"]
    assert await _deliveries(app, "bad") == []
