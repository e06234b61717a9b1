"""A campaign's run: from its ``_PushStatus`` row to one delivery record per installation, fanned out in batches.

The run moves the row pending|scheduled → running by compare-and-set, then resolves the
installations matching ``query`` with the master key, in keyset pages by objectId
(installations without a deviceToken are skipped): inside PostgreSQL from the compiled query
when every delivery is due at one instant and no trigger must see the installations found,
through the data API's find otherwise. Each page's
deliveries, the cursor and the campaign's ``count`` are written in one transaction, and
the deliveries already due are queued as batch tasks, one per provider (device type and
push type) and ``HANGAR_PUSH_BATCH_SIZE`` rows. A run holds a lease on the campaign, so a
second worker (a duplicate task, the tick) never resolves it at the same time; the same task
redelivered after its worker died takes the lease over and resumes from the cursor.

A local-time send (``pushTime`` without a zone) starts when the earliest time zone reaches
that wall-clock time; each delivery is due at that time in its installation's ``timeZone``
(UTC without one), and the tick queues the later ones as they come due.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from asgiref.sync import sync_to_async
from django.conf import settings

from hangar.caller import Caller
from hangar.datastore import queries
from hangar.datastore.connection import app_transaction
from hangar.datastore.hooks import hooks
from hangar.db_pool import DataPlaneConnection
from hangar.messaging import push_status
from hangar.messaging.deliveries import (
    NewDelivery,
    ResolvedPage,
    WrittenDelivery,
    deliveries_insert,
    deliveries_insert_from_query,
    statistics_bootstrap,
    unfinished_count,
)
from hangar.messaging.dispatch import BatchEnqueue, BatchOrder, batch_enqueue
from hangar.messaging.push_status import Campaign, campaign_get, status_move
from hangar.parse_errors import INVALID_JSON, INVALID_KEY_NAME, INVALID_QUERY, ParseError

logger = logging.getLogger(__name__)
PAGE_SIZE = 1000
LEASE = timedelta(minutes=2)  # renewed with every page; a dead resolver's campaign is taken over after this
INSTALLATION = "_Installation"
INSTALLATION_KEYS = "deviceToken,deviceType,pushType,timeZone,localeIdentifier,appIdentifier"
# Errors that say the campaign's query itself is wrong: the campaign fails with the message.
_QUERY_ERRORS = (INVALID_QUERY, INVALID_KEY_NAME, INVALID_JSON)


class LeaseLostError(Exception):
    """Another run took the campaign over (this one was too slow to renew its lease)."""


def _zone(name: Any) -> ZoneInfo:
    if isinstance(name, str) and name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo("UTC")


def _offset_hours(moment: datetime) -> str:
    offset = moment.utcoffset() or timedelta(0)
    hours = offset.total_seconds() / 3600
    return str(int(hours)) if hours == int(hours) else str(hours)


def delivery_for(campaign: Campaign, installation: dict[str, Any], now: datetime) -> NewDelivery | None:
    """The delivery of ``campaign`` to one installation; None when it has no device token."""
    token = installation.get("deviceToken")
    if not isinstance(token, str) or not token:
        return None
    utc_offset = ""
    if campaign.local and campaign.push_time is not None:
        local = campaign.push_time.replace(tzinfo=_zone(installation.get("timeZone")))
        due = local.astimezone(UTC)
        utc_offset = _offset_hours(local)
    else:
        due = campaign.push_time or now

    def text(key: str) -> str:
        value = installation.get(key)
        return value if isinstance(value, str) else ""

    return NewDelivery(
        installation_id=str(installation["objectId"]), device_type=text("deviceType"), push_type=text("pushType"),
        device_token=token, app_identifier=text("appIdentifier"), locale=text("localeIdentifier"),
        utc_offset=utc_offset, due_at=due, expires_at=campaign.expires_at(due),
    )  # fmt: skip


def batch_orders(app_pk: int, campaign_id: str, written: list[WrittenDelivery], now: datetime) -> list[BatchOrder]:
    """Batches of the deliveries due now, one provider (device type, push type) per batch."""
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for item in written:
        if item.due_at <= now:
            groups[(item.device_type, item.push_type)].append(item.id)
    size = int(settings.HANGAR_PUSH_BATCH_SIZE)
    return [
        BatchOrder(app_pk=app_pk, campaign_id=campaign_id, delivery_ids=ids[start : start + size])
        for ids in groups.values()
        for start in range(0, len(ids), size)
    ]


async def _start(campaign: Campaign, now: datetime) -> str | None:
    """Move a pending or scheduled campaign to running; returns a final status when it cannot run."""
    app_pk, campaign_id = campaign.app_pk, campaign.campaign_id
    async with app_transaction(app_pk) as conn:
        if campaign.expiry is not None and campaign.expiry <= now:
            await status_move(
                conn, app_pk=app_pk, campaign_id=campaign_id, from_states=("pending", "scheduled"), to="failed",
                fields={"errorMessage": "The push expired before it was sent.", "numSent": 0, "count": 0},
            )  # fmt: skip
            return "failed"
        if not isinstance(campaign.where, dict):
            await status_move(
                conn, app_pk=app_pk, campaign_id=campaign_id, from_states=("pending", "scheduled"), to="failed",
                fields={"errorMessage": "The push query is not a JSON object.", "numSent": 0, "count": 0},
            )  # fmt: skip
            return "failed"
        await status_move(
            conn, app_pk=app_pk, campaign_id=campaign_id, from_states=("pending", "scheduled"), to="running",
            fields={"numSent": 0, "numFailed": 0, "count": 0},
        )  # fmt: skip
        await conn.run(
            "INSERT INTO messaging_pushcampaignrun (app_id, campaign_id, cursor, resolved, lease_owner, created_at, "
            "updated_at) VALUES (%s, %s, '', false, '', %s, %s) ON CONFLICT (app_id, campaign_id) DO NOTHING",
            [app_pk, campaign_id, now, now],
        )
    return None


async def _lease(app_pk: int, campaign_id: str, task_id: str, now: datetime) -> tuple[str, bool] | None:
    """Take (or renew) the campaign's resolution lease; returns (cursor, resolved), None when another holds it."""
    async with app_transaction(app_pk) as conn:
        row = await conn.fetch_one(
            "UPDATE messaging_pushcampaignrun SET lease_owner = %s, lease_until = %s, updated_at = %s "
            "WHERE app_id = %s AND campaign_id = %s "
            "AND (resolved OR lease_owner = %s OR lease_until IS NULL OR lease_until < %s) RETURNING cursor, resolved",
            [task_id, now + LEASE, now, app_pk, campaign_id, task_id, now],
        )
    return (str(row[0]), bool(row[1])) if row else None


async def _fail(app_pk: int, campaign_id: str, message: str) -> None:
    async with app_transaction(app_pk) as conn:
        await status_move(
            conn, app_pk=app_pk, campaign_id=campaign_id, from_states=("running",), to="failed",
            fields={"errorMessage": message},
        )  # fmt: skip
        await conn.run(
            "UPDATE messaging_pushcampaignrun SET resolved = true WHERE app_id = %s AND campaign_id = %s",
            [app_pk, campaign_id],
        )


def _page_where(campaign: Campaign, cursor: str) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [campaign.where, {"deviceToken": {"$exists": True}}]
    if cursor:
        parts.append({"objectId": {"$gt": cursor}})
    return {"$and": parts}


async def _page_commit(
    conn: DataPlaneConnection, campaign: Campaign, written: list[WrittenDelivery], cursor: str, task_id: str,
    now: datetime,
) -> None:  # fmt: skip
    """The page's count and cursor, in the transaction that wrote its deliveries (while the lease is ours)."""
    app_pk, campaign_id = campaign.app_pk, campaign.campaign_id
    await push_status.count_add(conn, app_pk=app_pk, campaign_id=campaign_id, recipients=len(written))
    kept = await conn.fetch_one(
        "UPDATE messaging_pushcampaignrun SET cursor = %s, lease_until = %s, updated_at = %s "
        "WHERE app_id = %s AND campaign_id = %s AND lease_owner = %s RETURNING 1",
        [cursor, now + LEASE, now, app_pk, campaign_id, task_id],
    )
    if kept is None:
        raise LeaseLostError(campaign_id)


async def _page_through_find(
    campaign: Campaign, caller: Caller, cursor: str, task_id: str, now: datetime, page_size: int
) -> ResolvedPage:
    """A page through the data API's find (beforeFind/afterFind triggers run; local-time due dates in Python)."""
    params = {"where": _page_where(campaign, cursor), "order": "objectId", "limit": page_size,
              "keys": INSTALLATION_KEYS}  # fmt: skip
    installations = (await queries.object_find(caller=caller, class_name=INSTALLATION, params=params,
                                                files_base=""))["results"]  # fmt: skip
    if not installations:
        return ResolvedPage(written=[], seen=0, last=cursor)
    last = str(installations[-1]["objectId"])
    rows = [row for row in (delivery_for(campaign, item, now) for item in installations) if row]
    app_pk = campaign.app_pk
    async with app_transaction(app_pk) as conn:
        written = await deliveries_insert(conn, app_pk=app_pk, campaign_id=campaign.campaign_id, rows=rows, now=now)
        await _page_commit(conn, campaign, written, last, task_id, now)
    return ResolvedPage(written=written, seen=len(installations), last=last)


async def _page_in_database(
    campaign: Campaign, caller: Caller, cursor: str, task_id: str, now: datetime, page_size: int
) -> ResolvedPage:
    """A page written by one INSERT ... SELECT from the compiled installation query."""
    statement = await queries.find_statement(
        caller=caller, class_name=INSTALLATION, where=_page_where(campaign, cursor), order="objectId"
    )
    if statement is None:  # no _Installation class yet
        return ResolvedPage(written=[], seen=0, last=cursor)
    app_pk, due = campaign.app_pk, campaign.push_time or now
    async with app_transaction(app_pk) as conn:
        page = await deliveries_insert_from_query(
            conn, app_pk=app_pk, campaign_id=campaign.campaign_id, installations=statement, limit=page_size,
            due_at=due, expires_at=campaign.expires_at(due), now=now,
        )  # fmt: skip
        if page.seen:
            await _page_commit(conn, campaign, page.written, page.last, task_id, now)
    return page


def _resolves_in_database(campaign: Campaign, caller: Caller) -> bool:
    """Every delivery due at one instant, and no trigger that must see the installations found."""
    triggered = any(
        hooks().wants(caller=caller, kind=kind, class_name=INSTALLATION) for kind in ("beforeFind", "afterFind")
    )
    return not campaign.local and not triggered


async def campaign_run(
    *, app_pk: int, campaign_id: str, task_id: str, now: datetime | None = None, enqueue: BatchEnqueue = batch_enqueue,
    caller: Caller | None = None, page_size: int = PAGE_SIZE,
) -> str:  # fmt: skip
    """Run a campaign as far as it can go now; returns what happened ("not due", "busy", "resolved", ...).

    Idempotent: deliveries are unique per installation, so a repeated or resumed run writes
    and queues only what is missing; a finished campaign is left alone.
    """
    now = now or datetime.now(UTC)
    campaign = await campaign_get(app_pk=app_pk, campaign_id=campaign_id)
    if campaign is None or campaign.status not in ("pending", "scheduled", "running"):
        return "done"
    if campaign.status != "running":
        if campaign.first_due(now) > now:
            return "not due"
        final = await _start(campaign, now)
        if final:
            return final
    leased = await _lease(app_pk, campaign_id, task_id, now)
    if leased is None:
        return "busy"
    cursor, resolved = leased
    if not resolved:
        if caller is None:
            from hangar.cloudcode.selectors import master_caller_of

            caller = await sync_to_async(master_caller_of)(app_pk)
        if caller is None:  # the app was deleted or suspended meanwhile
            return "gone"
        outcome = await _resolve(campaign, dataclasses.replace(caller, is_master=True), cursor, task_id, now, enqueue,
                                 page_size)  # fmt: skip
        if outcome:
            return outcome
    await campaign_complete_if_done(app_pk=app_pk, campaign_id=campaign_id)
    return "resolved"


async def _resolve(
    campaign: Campaign, caller: Caller, cursor: str, task_id: str, now: datetime, enqueue: BatchEnqueue,
    page_size: int,
) -> str | None:  # fmt: skip
    app_pk, campaign_id = campaign.app_pk, campaign.campaign_id
    # A short page means the last one: never ask for more than a query may return.
    page_size = max(1, min(page_size, int(settings.HANGAR_MAX_QUERY_LIMIT)))
    next_page = _page_in_database if _resolves_in_database(campaign, caller) else _page_through_find
    first_page = True
    while True:
        try:
            page = await next_page(campaign, caller, cursor, task_id, now, page_size)
        except ParseError as exc:
            if exc.code not in _QUERY_ERRORS:
                raise  # e.g. a timeout: the task fails, the tick resumes the run from the cursor
            await _fail(app_pk, campaign_id, exc.message)
            return "failed"
        if not page.seen:
            break
        cursor = page.last
        if first_page:
            first_page = False
            await sync_to_async(statistics_bootstrap)()
        for order in batch_orders(app_pk, campaign_id, page.written, now):
            await enqueue(order)
        if page.seen < page_size:
            break
    async with app_transaction(app_pk) as conn:
        await conn.run(
            "UPDATE messaging_pushcampaignrun SET resolved = true, lease_owner = '', lease_until = NULL "
            "WHERE app_id = %s AND campaign_id = %s AND lease_owner = %s",
            [app_pk, campaign_id, task_id],
        )
    return None


async def campaign_complete_if_done(*, app_pk: int, campaign_id: str) -> str | None:
    """Finish a running campaign whose installations are all resolved and all delivered or failed.

    Parse's statuses: ``succeeded``; ``failed`` with ``errorMessage`` when there were
    recipients and none could be reached.
    """
    async with app_transaction(app_pk) as conn:
        run = await conn.fetch_one(
            "SELECT resolved FROM messaging_pushcampaignrun WHERE app_id = %s AND campaign_id = %s",
            [app_pk, campaign_id],
        )
        if run is None or not run[0]:
            return None
        if await unfinished_count(conn, app_pk=app_pk, campaign_id=campaign_id):
            return None
        counts = await push_status.counts_add(
            conn, app_pk=app_pk, campaign_id=campaign_id, delta=push_status.CountDelta()
        )
        if counts is None:
            return None
        sent, failed, _count, _status = counts
        if failed and not sent:
            moved = await status_move(
                conn, app_pk=app_pk, campaign_id=campaign_id, from_states=("running",), to="failed",
                fields={"errorMessage": "No notification could be delivered."},
            )  # fmt: skip
            return "failed" if moved else None
        moved = await status_move(
            conn, app_pk=app_pk, campaign_id=campaign_id, from_states=("running",), to="succeeded"
        )
        return "succeeded" if moved else None
