"""What the push engine's tests share: installations and campaigns written as the data plane stores them,
and a test double of a provider *adapter* that records what it is given and answers as scripted.

The engine is under test, not the provider: the double stands at the adapter seam
(``hangar.messaging.adapters.base.PushProvider``); the provider adapters are tested against
their local protocol servers in their own tests.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from psycopg.types.json import Jsonb

from hangar.datastore.connection import app_statement, app_transaction
from hangar.datastore.partitions import object_partition
from hangar.messaging.adapters.base import DeliveryOutcome, PushNotification, PushTarget
from hangar.messaging.batch_sends import BatchResult, batch_send
from hangar.messaging.campaign_runs import campaign_run
from hangar.messaging.dispatch import BatchOrder

Script = Callable[[PushTarget, int], DeliveryOutcome]  # (target, how many times it was sent before) -> outcome


@dataclass
class RecordingProvider:
    """A provider adapter double: records every send, answers ``script`` (SENT by default)."""

    name: str = "fcm"
    script: Script | None = None
    sends: list[tuple[PushNotification, PushTarget]] = field(default_factory=list)

    async def send_push(self, notification: PushNotification, targets: list[PushTarget]) -> list[DeliveryOutcome]:
        outcomes = []
        for target in targets:
            before = sum(1 for _, t in self.sends if t.installation_object_id == target.installation_object_id)
            self.sends.append((notification, target))
            outcomes.append(self.script(target, before) if self.script else DeliveryOutcome.sent())
        return outcomes

    async def aclose(self) -> None:
        return None

    def received_by(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for _, target in self.sends:
            counts[target.installation_object_id] = counts.get(target.installation_object_id, 0) + 1
        return counts


def providers_of(*providers: RecordingProvider) -> Callable[..., Any]:
    """A ``push_provider_for`` answering by device type: ios → the one named apns, else the first."""
    by_name = {p.name: p for p in providers}

    async def provider_for(*, app_pk: int, device_type: str, push_type: str | None) -> RecordingProvider:
        if device_type == "ios" and "apns" in by_name:
            return by_name["apns"]
        return providers[0]

    return provider_for


async def installations_create(app_pk: int, rows: list[dict[str, Any]]) -> None:
    """Write installations straight into the app's partition (as the datastore stores them)."""
    async with app_transaction(app_pk) as conn:
        for row in rows:
            data = {k: v for k, v in row.items() if k != "objectId"}
            await conn.run(
                f"INSERT INTO {object_partition(app_pk)} (app_id, class_name, object_id, data, _rperm, _wperm) "
                "VALUES (%s, '_Installation', %s, %s, '{}', '{}')",
                [app_pk, row["objectId"], Jsonb(data)],
            )


async def campaign_record(app_pk: int, campaign_id: str, **fields: Any) -> None:
    """A ``_PushStatus`` row as push-api's campaign_create writes it (Contract A)."""
    data = {
        "pushTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "source": "rest", "query": json.dumps(fields.pop("where", {})),
        "payload": json.dumps(fields.pop("data", {"alert": "hello"})), "status": "pending",
        "numSent": 0, "pushHash": "d41d8cd98f00b204e9800998ecf8427e", **fields,
    }  # fmt: skip
    async with app_statement(app_pk) as conn:
        await conn.run(
            f"INSERT INTO {object_partition(app_pk)} (app_id, class_name, object_id, data, _rperm, _wperm) "
            "VALUES (%s, '_PushStatus', %s, %s, '{}', '{}')",
            [app_pk, campaign_id, Jsonb(data)],
        )


async def push_status_of(app_pk: int, campaign_id: str) -> dict[str, Any]:
    async with app_statement(app_pk) as conn:
        row = await conn.fetch_one(
            f"SELECT data FROM {object_partition(app_pk)} WHERE class_name = '_PushStatus' AND object_id = %s",
            [campaign_id],
        )
    assert row is not None
    return dict(row[0])


async def installation_of(app_pk: int, object_id: str) -> dict[str, Any]:
    async with app_statement(app_pk) as conn:
        row = await conn.fetch_one(
            f"SELECT data FROM {object_partition(app_pk)} WHERE class_name = '_Installation' AND object_id = %s",
            [object_id],
        )
    assert row is not None
    return dict(row[0])


async def delivery_states(app_pk: int, campaign_id: str) -> dict[str, str]:
    """installation objectId → delivery state."""
    async with app_transaction(app_pk) as conn:
        rows = await conn.fetch_all(
            "SELECT installation_id, state FROM messaging_pushdelivery WHERE app_id = %s AND campaign_id = %s",
            [app_pk, campaign_id],
        )
    return dict(rows)


@dataclass
class Queue:
    """The batches the engine queued, run in order by ``drain`` (a Celery queue, in the test's hands)."""

    orders: list[BatchOrder] = field(default_factory=list)

    async def enqueue(self, order: BatchOrder) -> None:
        self.orders.append(order)

    async def drain(
        self, provider_for: Callable[..., Any], *, task_id: str = "t", clock: Callable[[], datetime] | None = None,
        localize: Any = None,
    ) -> list[BatchResult]:  # fmt: skip
        results = []
        while self.orders:
            order = self.orders.pop(0)
            results.append(
                await batch_send(
                    app_pk=order.app_pk,
                    campaign_id=order.campaign_id,
                    delivery_ids=order.delivery_ids,
                    task_id=f"{task_id}-{len(results)}",
                    provider_for=provider_for,
                    localize=localize,
                    enqueue=self.enqueue,
                    **({"clock": clock} if clock else {}),
                )
            )
        return results


async def run_campaign(app_pk: int, campaign_id: str, queue: Queue, **kwargs: Any) -> str:
    return await campaign_run(app_pk=app_pk, campaign_id=campaign_id, task_id="run", enqueue=queue.enqueue, **kwargs)


# The provider the eager-Celery test names in HANGAR_PUSH_PROVIDER_FOR (a worker imports it by path).
EAGER_PROVIDER = RecordingProvider()


async def eager_provider_for(*, app_pk: int, device_type: str, push_type: str | None) -> RecordingProvider:
    return EAGER_PROVIDER
