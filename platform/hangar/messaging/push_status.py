"""The campaign record: the app's ``_PushStatus`` row (Contract A), read and written by the engine with SQL.

The row is Parse Server's (StatusHandler.js): ``pushTime``, ``query``, ``payload``,
``expiry``, ``expiration_interval``, ``status``, and the counts ``numSent``, ``numFailed``,
``sentPerType``, ``failedPerType``, ``sentPerUTCOffset``, ``failedPerUTCOffset``, ``count``.
The engine changes it with single statements on the app's partition: a status moves by
compare-and-set (two workers never both start a campaign), and counts grow by atomic
increments inside the UPDATE (``messaging_counts_add``, migration 0002), so concurrent batch
tasks never lose each other's counts.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg.types.json import Jsonb

from hangar.datastore.connection import app_statement
from hangar.datastore.partitions import object_partition
from hangar.db_pool import DataPlaneConnection

PUSH_STATUS = "_PushStatus"
# A local-time send reaches the earliest time zone (UTC+14, Kiribati) this long before the
# same wall-clock time in UTC, and the latest (UTC-12) this long after.
EARLIEST_ZONE = timedelta(hours=14)


@dataclass(frozen=True)
class Campaign:
    """What the engine needs of a ``_PushStatus`` row."""

    app_pk: int
    campaign_id: str
    status: str
    where: Any  # the installation query; not a dict when the stored text is not a JSON object
    data: dict[str, Any]
    push_time: datetime | None  # aware UTC; naive wall-clock time for a local-time send; None: now
    local: bool
    expiry: datetime | None
    expiration_interval: timedelta | None

    def first_due(self, now: datetime) -> datetime:
        """When the first delivery is due (a local-time send starts with the earliest time zone)."""
        if self.push_time is None:
            return now
        if self.local:
            return self.push_time.replace(tzinfo=UTC) - EARLIEST_ZONE
        return self.push_time

    def expires_at(self, due: datetime) -> datetime | None:
        """After this nothing more is sent to an installation whose delivery is due at ``due``."""
        limits = [self.expiry] if self.expiry else []
        if self.expiration_interval is not None:
            limits.append(due + self.expiration_interval)
        return min(limits) if limits else None


def _parsed_json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _push_time(value: Any) -> tuple[datetime | None, bool]:
    if isinstance(value, dict) and value.get("__type") == "Date":
        value = value.get("iso")
    if not isinstance(value, str) or not value:
        return None, False
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None, False
    if moment.tzinfo is None:
        return moment, True
    return moment.astimezone(UTC), False


def campaign_from_row(app_pk: int, campaign_id: str, row: dict[str, Any]) -> Campaign:
    push_time, local = _push_time(row.get("pushTime"))
    expiry = row.get("expiry")
    interval = row.get("expiration_interval")
    data = _parsed_json(row.get("payload"))
    return Campaign(
        app_pk=app_pk, campaign_id=campaign_id, status=str(row.get("status") or ""),
        where=_parsed_json(row.get("query")) if row.get("query") is not None else {},
        data=data if isinstance(data, dict) else {}, push_time=push_time, local=local,
        expiry=datetime.fromtimestamp(expiry / 1000, UTC) if isinstance(expiry, int | float) else None,
        expiration_interval=timedelta(seconds=interval) if isinstance(interval, int | float) else None,
    )  # fmt: skip


async def campaign_get(*, app_pk: int, campaign_id: str) -> Campaign | None:
    async with app_statement(app_pk) as conn:
        row = await conn.fetch_one(
            f"SELECT data FROM {object_partition(app_pk)} WHERE class_name = %s AND object_id = %s",
            [PUSH_STATUS, campaign_id],
        )
    return campaign_from_row(app_pk, campaign_id, row[0]) if row else None


async def status_move(
    conn: DataPlaneConnection, *, app_pk: int, campaign_id: str, from_states: tuple[str, ...], to: str,
    fields: dict[str, Any] | None = None,
) -> bool:  # fmt: skip
    """Compare-and-set the campaign's status; True if this call made the move."""
    changed = await conn.fetch_one(
        f"UPDATE {object_partition(app_pk)} SET data = data || %s, updated_at = now() "
        "WHERE class_name = %s AND object_id = %s AND data->>'status' = ANY(%s) RETURNING 1",
        [Jsonb({**(fields or {}), "status": to}), PUSH_STATUS, campaign_id, list(from_states)],
    )
    return changed is not None


@dataclass
class CountDelta:
    """Counts to add to a campaign, as Parse's StatusHandler.trackSent keeps them."""

    sent: int = 0
    failed: int = 0
    sent_per_type: Counter[str] = field(default_factory=Counter)
    failed_per_type: Counter[str] = field(default_factory=Counter)
    sent_per_offset: Counter[str] = field(default_factory=Counter)
    failed_per_offset: Counter[str] = field(default_factory=Counter)

    def add(self, *, sent: bool, device_type: str, utc_offset: str) -> None:
        if sent:
            self.sent += 1
            self.sent_per_type[device_type] += 1
            if utc_offset:
                self.sent_per_offset[utc_offset] += 1
        else:
            self.failed += 1
            self.failed_per_type[device_type] += 1
            if utc_offset:
                self.failed_per_offset[utc_offset] += 1

    def __bool__(self) -> bool:
        return bool(self.sent or self.failed)


_COUNTS_SQL = """
UPDATE {table} SET updated_at = now(), data = data || jsonb_build_object(
    'numSent', COALESCE((data->>'numSent')::bigint, 0) + %s,
    'numFailed', COALESCE((data->>'numFailed')::bigint, 0) + %s,
    'sentPerType', messaging_counts_add(data->'sentPerType', %s),
    'failedPerType', messaging_counts_add(data->'failedPerType', %s),
    'sentPerUTCOffset', messaging_counts_add(data->'sentPerUTCOffset', %s),
    'failedPerUTCOffset', messaging_counts_add(data->'failedPerUTCOffset', %s))
WHERE class_name = %s AND object_id = %s
RETURNING (data->>'numSent')::bigint, (data->>'numFailed')::bigint, (data->>'count')::bigint, data->>'status'
"""


async def counts_add(
    conn: DataPlaneConnection, *, app_pk: int, campaign_id: str, delta: CountDelta
) -> tuple[int, int, int, str] | None:
    """Add the outcomes of some deliveries; returns (numSent, numFailed, count, status) after the addition."""
    row = await conn.fetch_one(
        _COUNTS_SQL.format(table=object_partition(app_pk)),
        [
            delta.sent, delta.failed, Jsonb(dict(delta.sent_per_type)), Jsonb(dict(delta.failed_per_type)),
            Jsonb(dict(delta.sent_per_offset)), Jsonb(dict(delta.failed_per_offset)), PUSH_STATUS, campaign_id,
        ],
    )  # fmt: skip
    return (int(row[0]), int(row[1]), int(row[2] or 0), str(row[3])) if row else None


async def count_add(conn: DataPlaneConnection, *, app_pk: int, campaign_id: str, recipients: int) -> None:
    """Add installations resolved for the campaign to its ``count``."""
    await conn.run(
        f"UPDATE {object_partition(app_pk)} SET updated_at = now(), data = data || jsonb_build_object("
        "'count', COALESCE((data->>'count')::bigint, 0) + %s) WHERE class_name = %s AND object_id = %s",
        [recipients, PUSH_STATUS, campaign_id],
    )
