"""Delivery records on the data plane: written once per installation, claimed before a send, marked after.

Every statement here runs inside an ``app_transaction`` (row-level security binds it to the
app) and names the app besides. The state machine (docs/messaging.md, "Delivery"):

    queued --claim--> sending --outcome--> sent | failed | invalid
       ^                 |
       +---- RETRY ------+  (due again after a backoff; failed after the last attempt)

A claim commits before the provider is called and names the Celery task holding it. When
that task's worker dies, the broker hands the same task (same id) to another worker, which
claims the rows its dead predecessor left in ``sending`` again and resends them under the
same delivery id: the only sends that may reach a provider twice are those whose outcome
was never recorded, and they carry one idempotency / collapse id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hangar.datastore.partitions import object_partition
from hangar.datastore.queries import FindStatement
from hangar.db_pool import DataPlaneConnection

INSTALLATION = "_Installation"


@dataclass(frozen=True)
class NewDelivery:
    installation_id: str
    device_type: str
    push_type: str
    device_token: str
    app_identifier: str
    locale: str
    utc_offset: str
    due_at: datetime
    expires_at: datetime | None


@dataclass(frozen=True)
class WrittenDelivery:
    id: int
    device_type: str
    push_type: str
    due_at: datetime


@dataclass(frozen=True)
class ClaimedDelivery:
    id: int
    installation_id: str
    device_type: str
    push_type: str
    device_token: str
    app_identifier: str
    locale: str
    utc_offset: str
    badge: int | None
    attempts: int
    expires_at: datetime | None
    reclaimed: bool  # left in ``sending`` by this task's earlier run: its outcome is unknown


@dataclass(frozen=True)
class Outcome:
    """What to record for one claimed delivery."""

    id: int
    state: str  # sent | failed | invalid | queued (another try)
    error: str = ""
    due_at: datetime | None = None  # for another try


# The columns both insert paths write, in the order of their SELECT lists.
_INSERTED_COLUMNS = (
    "app_id, campaign_id, installation_id, device_type, push_type, device_token, app_identifier, locale, utc_offset, "
    "due_at, expires_at, enqueued_at, state, attempts, error, claimed_by, created_at, updated_at"
)


async def deliveries_insert(
    conn: DataPlaneConnection, *, app_pk: int, campaign_id: str, rows: list[NewDelivery], now: datetime
) -> list[WrittenDelivery]:
    """Write deliveries not written yet (a resumed resolution skips those it wrote before its crash)."""
    if not rows:
        return []
    written = await conn.fetch_all(
        f"""
        INSERT INTO messaging_pushdelivery ({_INSERTED_COLUMNS})
        SELECT %s, %s, r.installation_id, r.device_type, r.push_type, r.device_token, r.app_identifier, r.locale,
            r.utc_offset, r.due_at, r.expires_at, CASE WHEN r.due_at <= %s THEN %s END, 'queued', 0, '', '', %s, %s
        FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[],
                    %s::timestamptz[], %s::timestamptz[])
            AS r(installation_id, device_type, push_type, device_token, app_identifier, locale, utc_offset, due_at,
                 expires_at)
        ON CONFLICT (app_id, campaign_id, installation_id) DO NOTHING
        RETURNING id, device_type, push_type, due_at
        """,
        [
            app_pk, campaign_id, now, now, now, now,
            [r.installation_id for r in rows], [r.device_type for r in rows], [r.push_type for r in rows],
            [r.device_token for r in rows], [r.app_identifier for r in rows], [r.locale for r in rows],
            [r.utc_offset for r in rows], [r.due_at for r in rows], [r.expires_at for r in rows],
        ],
    )  # fmt: skip
    return [WrittenDelivery(id=row[0], device_type=row[1], push_type=row[2], due_at=row[3]) for row in written]


def _installation_text(key: str) -> str:
    """An installation's string field, "" when it is missing or not a string (as ``delivery_for`` reads it)."""
    return f"CASE WHEN jsonb_typeof(data->'{key}') = 'string' THEN data->>'{key}' ELSE '' END"


@dataclass(frozen=True)
class ResolvedPage:
    written: list[WrittenDelivery]
    seen: int  # installations the page read (those without a device token included)
    last: str  # the page's last objectId: the next page starts after it


async def deliveries_insert_from_query(
    conn: DataPlaneConnection, *, app_pk: int, campaign_id: str, installations: FindStatement, limit: int,
    due_at: datetime, expires_at: datetime | None, now: datetime,
) -> ResolvedPage:  # fmt: skip
    """Write one page of a campaign's deliveries straight from its installation query, inside PostgreSQL.

    The same rows as ``deliveries_insert`` after a find of the page (same fields, a token that is
    a non-empty string, one delivery per installation), without carrying every installation to
    Python and back: resolution was half the push workers' CPU (docs/messaging.md, "Measured").
    For campaigns due at one instant (not local time); ``installations`` orders by objectId.
    """
    rows = await conn.fetch_all(
        f"""
        WITH page AS (
            SELECT object_id, data FROM {installations.table} WHERE {installations.where_sql}
            ORDER BY {installations.order_sql or 'object_id COLLATE "C"'} LIMIT %s
        ), written AS (
            INSERT INTO messaging_pushdelivery ({_INSERTED_COLUMNS})
            SELECT %s, %s, object_id, {_installation_text("deviceType")}, {_installation_text("pushType")},
                data->>'deviceToken', {_installation_text("appIdentifier")}, {_installation_text("localeIdentifier")},
                '', %s, %s, CASE WHEN %s::timestamptz <= %s THEN %s END, 'queued', 0, '', '', %s, %s
            FROM page WHERE jsonb_typeof(data->'deviceToken') = 'string' AND data->>'deviceToken' <> ''
            ORDER BY object_id COLLATE "C"
            ON CONFLICT (app_id, campaign_id, installation_id) DO NOTHING
            RETURNING id, device_type, push_type
        )
        SELECT p.last, p.seen, w.id, w.device_type, w.push_type
        FROM (SELECT max(object_id COLLATE "C") AS last, count(*) AS seen FROM page) AS p LEFT JOIN written w ON true
        """,
        [
            *installations.params, *installations.order_params, limit,
            app_pk, campaign_id, due_at, expires_at, due_at, now, now, now, now,
        ],
    )  # fmt: skip
    written = [
        WrittenDelivery(id=row[2], device_type=row[3], push_type=row[4], due_at=due_at) for row in rows if row[2]
    ]
    last, seen = (rows[0][0], rows[0][1]) if rows else (None, 0)
    return ResolvedPage(written=sorted(written, key=lambda w: w.id), seen=int(seen or 0), last=str(last or ""))


async def deliveries_expire(
    conn: DataPlaneConnection, *, app_pk: int, ids: list[int], task_id: str, now: datetime, everything: bool = False
) -> list[tuple[str, str]]:
    """Record as failed ("expired") those of ``ids`` past their expiration (all with ``everything``); returns
    (device type, UTC offset) of each, for the counts."""
    rows = await conn.fetch_all(
        "UPDATE messaging_pushdelivery SET state = 'failed', error = 'expired', updated_at = %s "
        "WHERE app_id = %s AND id = ANY(%s) "
        "AND ((state || '') = 'queued' OR ((state || '') = 'sending' AND claimed_by = %s)) "
        "AND (%s OR expires_at <= %s) RETURNING device_type, utc_offset",
        [now, app_pk, ids, task_id, everything, now],
    )
    return [(row[0], row[1]) for row in rows]


# Statements that name deliveries by id compare ``state || ''`` rather than ``state``: the partial
# indexes on state (for the tick) would otherwise tempt the planner, whose statistics lag behind a
# campaign moving 100,000 rows from queued to sent in a minute, into reading every queued row of
# the table instead of looking up the few hundred ids (measured: 50-100 ms a claim instead of 3).
_CLAIM_SQL = """
WITH target AS (
    SELECT id, state AS previous FROM messaging_pushdelivery
    WHERE app_id = %(app)s AND id = ANY(%(ids)s)
      AND (((state || '') = 'queued' AND due_at <= %(now)s) OR ((state || '') = 'sending' AND claimed_by = %(task)s))
      AND (expires_at IS NULL OR expires_at > %(now)s)
    ORDER BY id
    FOR UPDATE
)
UPDATE messaging_pushdelivery d
SET state = 'sending', claimed_by = %(task)s, claimed_at = %(now)s, attempts = d.attempts + 1, updated_at = %(now)s
FROM target WHERE d.id = target.id
RETURNING d.id, d.installation_id, d.device_type, d.push_type, d.device_token, d.app_identifier, d.locale,
    d.utc_offset, d.badge, d.attempts, d.expires_at, target.previous = 'sending'
"""


async def deliveries_claim(
    conn: DataPlaneConnection, *, app_pk: int, ids: list[int], task_id: str, now: datetime
) -> list[ClaimedDelivery]:
    """Claim the due, unexpired deliveries of ``ids`` (and this task's own unfinished ones) for sending."""
    rows = await conn.fetch_all(_CLAIM_SQL, {"app": app_pk, "ids": ids, "task": task_id, "now": now})
    return [ClaimedDelivery(*row) for row in sorted(rows)]


async def badges_increment(
    conn: DataPlaneConnection, *, app_pk: int, claimed: list[ClaimedDelivery], amount: int, now: datetime
) -> list[ClaimedDelivery]:
    """Add ``amount`` to the badge of each claimed installation that has not had it yet, once, and note the
    resulting badge on its delivery (in the claim's transaction: a resend never increments again)."""
    fresh = [item for item in claimed if item.badge is None]
    if not fresh:
        return claimed
    badges = dict(
        await conn.fetch_all(
            f"UPDATE {object_partition(app_pk)} SET updated_at = %s, data = jsonb_set(data, '{{badge}}', to_jsonb("
            "(CASE WHEN jsonb_typeof(data->'badge') = 'number' THEN floor((data->>'badge')::numeric) ELSE 0 END)::int"
            " + %s)) WHERE class_name = %s AND object_id = ANY(%s) RETURNING object_id, (data->>'badge')::int",
            [now, amount, INSTALLATION, [item.installation_id for item in fresh]],
        )
    )
    noted = {item.id: badges.get(item.installation_id, amount) for item in fresh}  # a deleted one: the amount
    await conn.run(
        "UPDATE messaging_pushdelivery d SET badge = v.badge FROM unnest(%s::bigint[], %s::int[]) AS v(id, badge) "
        "WHERE d.app_id = %s AND d.id = v.id",
        [list(noted), list(noted.values()), app_pk],
    )
    return [
        ClaimedDelivery(**{**item.__dict__, "badge": noted[item.id]}) if item.id in noted else item for item in claimed
    ]


async def deliveries_unclaim(conn: DataPlaneConnection, *, app_pk: int, ids: list[int], task_id: str) -> None:
    """Give claimed, never-sent deliveries back to the queue (the provider's rate limit said wait)."""
    await conn.run(
        "UPDATE messaging_pushdelivery SET state = 'queued', claimed_by = '', attempts = greatest(attempts - 1, 0) "
        "WHERE app_id = %s AND id = ANY(%s) AND (state || '') = 'sending' AND claimed_by = %s",
        [app_pk, ids, task_id],
    )


async def outcomes_record(
    conn: DataPlaneConnection, *, app_pk: int, outcomes: list[Outcome], task_id: str, now: datetime
) -> list[tuple[Any, ...]]:
    """Mark claimed deliveries with their outcome; returns (id, state, device type, UTC offset) of each marked."""
    if not outcomes:
        return []
    return await conn.fetch_all(
        """
        UPDATE messaging_pushdelivery d
        SET state = o.state, error = left(o.error, 200), updated_at = %s, claimed_by = '',
            due_at = COALESCE(o.due_at, d.due_at), enqueued_at = CASE WHEN o.state = 'queued' THEN %s END
        FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::timestamptz[]) AS o(id, state, error, due_at)
        WHERE d.app_id = %s AND d.id = o.id AND (d.state || '') = 'sending' AND d.claimed_by = %s
        RETURNING d.id, d.state, d.device_type, d.utc_offset
        """,
        [
            now, now, [o.id for o in outcomes], [o.state for o in outcomes], [o.error for o in outcomes],
            [o.due_at for o in outcomes], app_pk, task_id,
        ],
    )  # fmt: skip


async def tokens_remove(conn: DataPlaneConnection, *, app_pk: int, tokens: list[tuple[str, str]]) -> None:
    """Delete the deviceToken of installations the provider called invalid, unless it changed meanwhile
    (Parse Server's cleanup after a push: ``{deviceToken: {__op: "Delete"}}``)."""
    if not tokens:
        return
    await conn.run(
        f"UPDATE {object_partition(app_pk)} o SET data = o.data - 'deviceToken', updated_at = now() "
        "FROM unnest(%s::text[], %s::text[]) AS t(object_id, token) "
        "WHERE o.class_name = %s AND o.object_id = t.object_id AND o.data->>'deviceToken' = t.token",
        [[oid for oid, _ in tokens], [token for _, token in tokens], INSTALLATION],
    )


def statistics_bootstrap() -> None:
    """ANALYZE the deliveries table if it never was (control plane, the table's owner).

    On a fresh table the planner guesses that an app's rows are a handful and reads them all
    through an app-leading index for every claim; one ANALYZE after a campaign's first page
    tells it otherwise. Autovacuum keeps the statistics afterwards.
    """
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT last_analyze IS NULL AND last_autoanalyze IS NULL FROM pg_stat_user_tables "
            "WHERE relname = 'messaging_pushdelivery'"
        )
        row = cursor.fetchone()
        if row and row[0]:
            cursor.execute("ANALYZE messaging_pushdelivery")


async def unfinished_count(conn: DataPlaneConnection, *, app_pk: int, campaign_id: str) -> int:
    row = await conn.fetch_one(
        "SELECT count(*) FROM messaging_pushdelivery WHERE app_id = %s AND campaign_id = %s "
        "AND state IN ('queued', 'sending')",
        [app_pk, campaign_id],
    )
    return int(row[0]) if row else 0
