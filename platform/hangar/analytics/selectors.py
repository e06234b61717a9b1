"""Reads for the dashboard's charts: counts over time and by dimension, unique users and
installations, funnels, retention cohorts, and usage across every tenant (staff).

Every selector takes the app explicitly and filters by it. Counts over time read the
rollups (cheap at any range); unique users, funnels and cohorts read the raw events, so
they reach back as far as the plan's retention.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection

from hangar.analytics.models import EventRollup, UsageRecord
from hangar.datastore.partitions import object_partition

MAX_FUNNEL_STEPS = 8
SORTABLE_USAGE = (
    "requests", "events", "database_bytes", "file_bytes", "live_connections", "function_cpu_seconds", "build_minutes",
    "app", "organization",
)  # fmt: skip


class AnalyticsQueryError(ValueError):
    """A query the dashboard (or an API caller) asked for that cannot be answered as asked."""


def _period_for(start: datetime, end: datetime) -> str:
    return "hour" if end - start <= timedelta(days=3) else "day"


def event_counts_over_time(
    *, app_pk: int, start: datetime, end: datetime, name: str | None = None
) -> tuple[str, list[tuple[datetime, int]]]:
    """Events per hour (ranges up to 3 days) or per day, of one name or all: (period, [(bucket, count)])."""
    period = _period_for(start, end)
    rows = EventRollup.objects.filter(app_id=app_pk, period=period, bucket__gte=start, bucket__lt=end)
    if name:
        rows = rows.filter(name=name)
    totals: dict[datetime, int] = {}
    for bucket, count in rows.values_list("bucket", "count"):
        totals[bucket] = totals.get(bucket, 0) + count
    return period, sorted(totals.items())


def event_names(*, app_pk: int, start: datetime, end: datetime) -> list[tuple[str, int]]:
    """The app's event names in the range, most frequent first."""
    totals: dict[str, int] = {}
    rows = EventRollup.objects.filter(app_id=app_pk, period="day", bucket__gte=_day(start), bucket__lt=end)
    for name, count in rows.values_list("name", "count"):
        totals[name] = totals.get(name, 0) + count
    return sorted(totals.items(), key=lambda item: (-item[1], item[0]))


def _day(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def event_counts_by_dimension(
    *, app_pk: int, name: str, dimension: str, start: datetime, end: datetime
) -> list[tuple[str | None, int]]:
    """Events of one name in the range, per value of one dimension (None: events without it), largest first."""
    totals: dict[str | None, int] = {}
    rows = EventRollup.objects.filter(
        app_id=app_pk, name=name, period=_period_for(start, end), bucket__gte=start, bucket__lt=end
    )
    for dimensions, count in rows.values_list("dimensions", "count"):
        value = dimensions.get(dimension)
        totals[value] = totals.get(value, 0) + count
    return sorted(totals.items(), key=lambda item: (-item[1], item[0] is None, item[0] or ""))


def unique_actors(*, app_pk: int, start: datetime, end: datetime) -> dict[str, int]:
    """Distinct users (with a session) and installations that sent any event in the range."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(DISTINCT NULLIF(user_id, '')), count(DISTINCT NULLIF(installation_id, ''))"
            " FROM analytics_event WHERE app_id = %s AND at >= %s AND at < %s",
            [app_pk, start, end],
        )
        users, installations = cursor.fetchone()  # type: ignore[misc]
    return {"users": int(users), "installations": int(installations)}


def daily_active_users(*, app_pk: int, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT date_trunc('day', at), count(DISTINCT COALESCE(NULLIF(user_id, ''), 'i:' || installation_id))"
            " FROM analytics_event WHERE app_id = %s AND at >= %s AND at < %s"
            " AND (user_id <> '' OR installation_id <> '') GROUP BY 1 ORDER BY 1",
            [app_pk, start, end],
        )
        return [(day, int(count)) for day, count in cursor.fetchall()]


def _actor(table: str) -> str:
    """Who sent an event: its user, else its installation (prefixed, so the two never collide)."""
    return f"COALESCE(NULLIF({table}.user_id, ''), 'i:' || NULLIF({table}.installation_id, ''))"


@dataclass(frozen=True)
class FunnelStep:
    name: str
    actors: int


def funnel(*, app_pk: int, steps: list[str], start: datetime, end: datetime, window: timedelta) -> list[FunnelStep]:
    """How many actors (users, else installations) did each step in order, each after the previous one
    and all within ``window`` of their first step; the first step must fall in the range."""
    if not 2 <= len(steps) <= MAX_FUNNEL_STEPS:
        raise AnalyticsQueryError(f"A funnel has 2 to {MAX_FUNNEL_STEPS} steps.")
    if window <= timedelta(0):
        raise AnalyticsQueryError("The funnel's window must be positive.")
    actor = _actor("analytics_event")
    params: dict[str, Any] = {"app": app_pk, "start": start, "end": end, "window": window}
    ctes = [
        f"s0 AS (SELECT {actor} AS actor, min(at) AS t0, min(at) AS t FROM analytics_event"
        " WHERE app_id = %(app)s AND name = %(n0)s AND at >= %(start)s AND at < %(end)s"
        f" AND {actor} IS NOT NULL GROUP BY 1)"
    ]
    params["n0"] = steps[0]
    for index in range(1, len(steps)):
        params[f"n{index}"] = steps[index]
        ctes.append(
            f"s{index} AS (SELECT p.actor, p.t0, min(e.at) AS t FROM s{index - 1} p JOIN analytics_event e"
            f" ON e.app_id = %(app)s AND e.name = %(n{index})s AND {_actor('e')} = p.actor"
            f" AND e.at > p.t AND e.at <= p.t0 + %(window)s GROUP BY p.actor, p.t0)"
        )
    counts = " UNION ALL ".join(f"SELECT {i}, count(*) FROM s{i}" for i in range(len(steps)))
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {', '.join(ctes)} {counts}", params)
        found = dict(cursor.fetchall())
    return [FunnelStep(name, int(found.get(index, 0))) for index, name in enumerate(steps)]


@dataclass(frozen=True)
class Cohort:
    week: datetime  # Monday 00:00 UTC of the sign-up week
    users: int
    retained: list[int]  # users with an event in week 0, 1, 2, ... after sign-up


def retention_cohorts(*, app_pk: int, weeks: int, now: datetime | None = None) -> list[Cohort]:
    """Users grouped by the week they signed up (``_User.createdAt``), and how many of each sent
    an event in each following week, for the last ``weeks`` weeks."""
    if not 1 <= weeks <= 26:
        raise AnalyticsQueryError("Retention covers 1 to 26 weeks.")
    now = now or datetime.now(UTC)
    first_week = _day(now - timedelta(days=now.weekday())) - timedelta(weeks=weeks - 1)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH users AS (
                SELECT object_id, date_trunc('week', created_at) AS week FROM {object_partition(app_pk)}
                WHERE class_name = '_User' AND created_at >= %(first)s
            ), active AS (
                SELECT DISTINCT u.week, u.object_id,
                       floor(extract(epoch FROM date_trunc('week', e.at) - u.week) / 604800)::int AS offset_week
                FROM users u JOIN analytics_event e ON e.app_id = %(app)s AND e.user_id = u.object_id
                WHERE e.at >= u.week
            )
            SELECT u.week, count(DISTINCT u.object_id),
                   COALESCE((SELECT json_object_agg(o, n) FROM (SELECT a.offset_week AS o, count(*) AS n FROM active a
                             WHERE a.week = u.week GROUP BY 1) x), '{{}}')
            FROM users u GROUP BY u.week ORDER BY u.week
            """,
            {"first": first_week, "app": app_pk},
        )
        rows = cursor.fetchall()
    cohorts = []
    for week, users, offsets in rows:
        offsets = offsets if isinstance(offsets, dict) else {}
        span = max(0, (_day(now) - week).days // 7) + 1
        cohorts.append(Cohort(week=week, users=int(users), retained=[int(offsets.get(str(i), 0)) for i in range(span)]))
    return cohorts


_SAMPLED = frozenset({"file_bytes", "database_bytes", "live_connections"})


def usage_series(
    *, app_pk: int, metric: str, start: datetime, end: datetime, period: str
) -> list[tuple[datetime, int]]:
    """One metered quantity of the app per hour or day: counts add up over a day, samples show its largest."""
    totals: dict[datetime, int] = {}
    rows = UsageRecord.objects.filter(app_id=app_pk, metric=metric, hour__gte=start, hour__lt=end)
    for hour, value in rows.values_list("hour", "value"):
        bucket = hour if period == "hour" else hour.replace(hour=0)
        totals[bucket] = max(totals.get(bucket, 0), value) if metric in _SAMPLED else totals.get(bucket, 0) + value
    return sorted(totals.items())


@dataclass(frozen=True)
class TenantUsage:
    app_pk: int
    app: str
    organization: str
    plan: str
    requests: int
    events: int
    database_bytes: int
    file_bytes: int
    live_connections: int
    function_cpu_seconds: int
    build_minutes: int


def usage_across_tenants(*, since: datetime, sort: str = "requests") -> list[TenantUsage]:
    """Every app's usage since ``since`` (sums of counts, latest samples), for staff; sorted by ``sort``
    (numbers largest first, names from A)."""
    descending = sort.startswith("-") or sort not in {"app", "organization"}
    key = sort.lstrip("-")
    if key not in SORTABLE_USAGE:
        raise AnalyticsQueryError(f"Sort by one of {', '.join(SORTABLE_USAGE)}.")
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT a.id, a.name, o.name, COALESCE(p.name, ''),
                   COALESCE(sum(u.value) FILTER (WHERE u.metric = 'requests'), 0),
                   COALESCE(sum(u.value) FILTER (WHERE u.metric = 'events'), 0),
                   COALESCE((SELECT value FROM analytics_usagerecord l WHERE l.app_id = a.id
                             AND l.metric = 'database_bytes' ORDER BY hour DESC LIMIT 1), 0),
                   COALESCE((SELECT value FROM analytics_usagerecord l WHERE l.app_id = a.id
                             AND l.metric = 'file_bytes' ORDER BY hour DESC LIMIT 1), 0),
                   COALESCE(max(u.value) FILTER (WHERE u.metric = 'live_connections'), 0),
                   div(COALESCE(sum(u.value) FILTER (WHERE u.metric = 'function_cpu_ms'), 0), 1000)::bigint,
                   div(COALESCE(sum(u.value) FILTER (WHERE u.metric = 'build_ms'), 0), 60000)::bigint
            FROM tenants_app a JOIN tenants_organization o ON o.id = a.organization_id
            LEFT JOIN tenants_plan p ON p.id = o.plan_id
            LEFT JOIN analytics_usagerecord u ON u.app_id = a.id AND u.hour >= %s
            WHERE a.status = 'active'
            GROUP BY a.id, a.name, o.name, p.name
            """,
            [since],
        )
        rows = [TenantUsage(*row) for row in cursor.fetchall()]
    return sorted(rows, key=lambda row: getattr(row, key), reverse=descending)


@dataclass(frozen=True)
class OrganizationUsage:
    organization: str
    plan: str
    apps: int
    requests: int
    events: int
    database_bytes: int
    file_bytes: int
    live_connections: int
    function_cpu_seconds: int
    build_minutes: int


def usage_by_organization(*, since: datetime, sort: str = "requests") -> list[OrganizationUsage]:
    """Every organization's usage since ``since``: its apps' usage added up (connections: the sum of peaks)."""
    key = sort.lstrip("-")
    if key not in SORTABLE_USAGE or key == "app":
        raise AnalyticsQueryError("Sort organizations by one of their totals or by name.")
    totals: dict[tuple[str, str], list[int]] = {}
    for row in usage_across_tenants(since=since):
        entry = totals.setdefault((row.organization, row.plan), [0] * 8)
        for index, value in enumerate(
            (1, row.requests, row.events, row.database_bytes, row.file_bytes, row.live_connections,
             row.function_cpu_seconds, row.build_minutes)
        ):  # fmt: skip
            entry[index] += value
    rows = [OrganizationUsage(name, plan, *values) for (name, plan), values in totals.items()]
    return sorted(rows, key=lambda row: getattr(row, key), reverse=key != "organization")
