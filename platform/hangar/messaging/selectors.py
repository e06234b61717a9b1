"""Reads of push campaigns for the management API and the dashboard: status and counts per campaign.

A campaign is its ``_PushStatus`` row (Parse's fields and counts) plus what only the engine
knows: its deliveries by state and its failures by error. Read on the control plane's
connection, always filtered by the app the caller was authorized for.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection

MAX_CAMPAIGNS_LISTED = 200
DELIVERY_STATES = ("queued", "sending", "sent", "failed", "invalid")


@dataclass(frozen=True)
class CampaignRow:
    id: str
    status: str
    source: str
    push_time: str | None
    query: Any
    payload: Any
    title: str | None
    expiry: int | None
    expiration_interval: int | None
    count: int
    num_sent: int
    num_failed: int
    sent_per_type: dict[str, int]
    failed_per_type: dict[str, int]
    sent_per_utc_offset: dict[str, int]
    failed_per_utc_offset: dict[str, int]
    error_message: str | None
    created_at: datetime
    updated_at: datetime
    deliveries: dict[str, int] = field(default_factory=dict)  # by state
    failed_per_error: dict[str, int] = field(default_factory=dict)


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _counts(value: Any) -> dict[str, int]:
    return {str(k): _int(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _row(object_id: str, data: dict[str, Any], created_at: datetime, updated_at: datetime) -> CampaignRow:
    expiry, interval = data.get("expiry"), data.get("expiration_interval")
    return CampaignRow(
        id=object_id, status=str(data.get("status") or ""), source=str(data.get("source") or ""),
        push_time=data.get("pushTime") if isinstance(data.get("pushTime"), str) else None,
        query=_json(data.get("query")), payload=_json(data.get("payload")),
        title=data.get("title") if isinstance(data.get("title"), str) else None,
        expiry=_int(expiry) if expiry is not None else None,
        expiration_interval=_int(interval) if interval is not None else None,
        count=_int(data.get("count")), num_sent=_int(data.get("numSent")), num_failed=_int(data.get("numFailed")),
        sent_per_type=_counts(data.get("sentPerType")), failed_per_type=_counts(data.get("failedPerType")),
        sent_per_utc_offset=_counts(data.get("sentPerUTCOffset")),
        failed_per_utc_offset=_counts(data.get("failedPerUTCOffset")),
        error_message=data.get("errorMessage") if isinstance(data.get("errorMessage"), str) else None,
        created_at=created_at, updated_at=updated_at,
    )  # fmt: skip


def _campaign_rows(app_pk: int, where: str, params: list[Any], limit: int) -> list[CampaignRow]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT object_id, data, created_at, updated_at FROM datastore_object "
            f"WHERE app_id = %s AND class_name = '_PushStatus'{where} ORDER BY created_at DESC, object_id LIMIT %s",
            [app_pk, *params, limit],
        )
        rows = cursor.fetchall()
    return [
        _row(oid, _json(data) if isinstance(data, str) else data, created, updated)
        for oid, data, created, updated in rows
    ]


def _with_deliveries(app_pk: int, rows: list[CampaignRow]) -> list[CampaignRow]:
    if not rows:
        return rows
    ids = [row.id for row in rows]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT campaign_id, state, count(*) FROM messaging_pushdelivery "
            "WHERE app_id = %s AND campaign_id = ANY(%s) GROUP BY campaign_id, state",
            [app_pk, ids],
        )
        states = cursor.fetchall()
        cursor.execute(
            "SELECT campaign_id, error, count(*) FROM messaging_pushdelivery "
            "WHERE app_id = %s AND campaign_id = ANY(%s) AND state IN ('failed', 'invalid') "
            "GROUP BY campaign_id, error",
            [app_pk, ids],
        )
        errors = cursor.fetchall()
    by_id = {row.id: row for row in rows}
    for campaign_id, state, count in states:
        by_id[campaign_id].deliveries[state] = count
    for campaign_id, error, count in errors:
        by_id[campaign_id].failed_per_error[error or "unknown"] = count
    for row in rows:
        for state in DELIVERY_STATES:
            row.deliveries.setdefault(state, 0)
    return rows


def push_campaign_list(*, app_pk: int, status: str | None = None, limit: int = 50) -> list[CampaignRow]:
    """The app's campaigns, newest first, with their counts (at most MAX_CAMPAIGNS_LISTED)."""
    limit = max(1, min(limit, MAX_CAMPAIGNS_LISTED))
    where, params = (" AND data->>'status' = %s", [status]) if status else ("", [])
    return _with_deliveries(app_pk, _campaign_rows(app_pk, where, params, limit))


def push_campaign_get(*, app_pk: int, campaign_id: str) -> CampaignRow | None:
    rows = _with_deliveries(app_pk, _campaign_rows(app_pk, " AND object_id = %s", [campaign_id], 1))
    return rows[0] if rows else None
