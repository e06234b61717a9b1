"""The dashboard's analytics queries: over time, by dimension, unique actors, funnels and retention cohorts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from django.db import connection

from hangar.analytics.rollups import events_rollup
from hangar.analytics.selectors import (
    AnalyticsQueryError,
    event_counts_by_dimension,
    event_counts_over_time,
    event_names,
    funnel,
    retention_cohorts,
    unique_actors,
)
from tests.conftest import Tenant

pytestmark = pytest.mark.django_db

NOW = datetime.now(UTC).replace(minute=30, second=0, microsecond=0)


def _insert(tenant: Tenant, name: str, at: datetime, *, user: str = "", installation: str = "", **dims: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO analytics_event (app_id, name, dimensions, user_id, installation_id, at)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            [tenant.app.pk, name, orjson.dumps(dims).decode(), user, installation, at],
        )


def test_counts_over_time_per_hour_and_per_day_and_by_dimension(tenant_a: Tenant, tenant_b: Tenant):
    for hours_ago, plan in [(0, "free"), (0, "pro"), (1, "free"), (30, "free"), (30, None)]:
        dims = {"plan": plan} if plan else {}
        _insert(tenant_a, "Search", NOW - timedelta(hours=hours_ago), **dims)
    _insert(tenant_b, "Search", NOW)  # another app's event never shows
    events_rollup(now=datetime.now(UTC) + timedelta(seconds=1))  # this test's transaction started "now"
    period, hourly = event_counts_over_time(
        app_pk=tenant_a.app.pk, start=NOW - timedelta(days=2), end=NOW + timedelta(hours=1)
    )
    assert period == "hour"
    assert [count for _, count in hourly] == [2, 1, 2]
    period, daily = event_counts_over_time(
        app_pk=tenant_a.app.pk, start=NOW - timedelta(days=10), end=NOW + timedelta(days=1)
    )
    assert period == "day"
    assert sum(count for _, count in daily) == 5
    by_plan = event_counts_by_dimension(
        app_pk=tenant_a.app.pk,
        name="Search",
        dimension="plan",
        start=NOW - timedelta(days=2),
        end=NOW + timedelta(hours=1),
    )
    assert by_plan == [("free", 3), ("pro", 1), (None, 1)]
    assert event_names(app_pk=tenant_a.app.pk, start=NOW - timedelta(days=2), end=NOW + timedelta(days=1)) == [
        ("Search", 5)
    ]


def test_unique_users_and_installations(tenant_a: Tenant):
    _insert(tenant_a, "AppOpened", NOW, user="u1", installation="i1")
    _insert(tenant_a, "AppOpened", NOW, user="u1", installation="i2")
    _insert(tenant_a, "AppOpened", NOW, installation="i3")
    _insert(tenant_a, "AppOpened", NOW - timedelta(days=5), user="u9")
    assert unique_actors(app_pk=tenant_a.app.pk, start=NOW - timedelta(days=1), end=NOW + timedelta(hours=1)) == {
        "users": 1, "installations": 3,
    }  # fmt: skip


def test_funnel_counts_ordered_steps_within_the_window(tenant_a: Tenant, tenant_b: Tenant):
    t = NOW - timedelta(hours=5)
    # u1: all three in order; u2: view then cart, never pays; u3: pays before the cart (out of order);
    # u4: cart too late (outside the 1-hour window); installation-only actor completes two steps.
    for actor, steps in {
        "u1": [("View", 0), ("Cart", 5), ("Pay", 10)],
        "u2": [("View", 0), ("Cart", 5)],
        "u3": [("View", 0), ("Pay", 2), ("Cart", 5)],
        "u4": [("View", 0), ("Cart", 90), ("Pay", 95)],
    }.items():
        for name, minutes in steps:
            _insert(tenant_a, name, t + timedelta(minutes=minutes), user=actor)
    _insert(tenant_a, "View", t, installation="dev-1")
    _insert(tenant_a, "Cart", t + timedelta(minutes=1), installation="dev-1")
    _insert(tenant_b, "View", t, user="u1")  # another app's user of the same id
    steps = funnel(
        app_pk=tenant_a.app.pk, steps=["View", "Cart", "Pay"], start=NOW - timedelta(days=1), end=NOW,
        window=timedelta(hours=1),
    )  # fmt: skip
    assert [(step.name, step.actors) for step in steps] == [("View", 5), ("Cart", 4), ("Pay", 1)]
    with pytest.raises(AnalyticsQueryError):
        funnel(app_pk=tenant_a.app.pk, steps=["View"], start=NOW, end=NOW, window=timedelta(hours=1))


def test_retention_cohorts_by_sign_up_week(tenant_a: Tenant):
    this_week = (NOW - timedelta(days=NOW.weekday())).replace(hour=12, minute=0)
    last_week = this_week - timedelta(weeks=1)
    with connection.cursor() as cursor:
        for user, signed_up in [("old1", last_week), ("old2", last_week), ("new1", this_week)]:
            cursor.execute(
                "INSERT INTO datastore_object (app_id, class_name, object_id, data, _rperm, _wperm, created_at,"
                " updated_at) VALUES (%s, '_User', %s, '{}', '{*}', '{}', %s, %s)",
                [tenant_a.app.pk, user, signed_up, signed_up],
            )
    _insert(tenant_a, "AppOpened", last_week + timedelta(hours=1), user="old1")
    _insert(tenant_a, "AppOpened", last_week + timedelta(hours=2), user="old2")
    _insert(tenant_a, "AppOpened", this_week + timedelta(minutes=1), user="old1")  # old1 came back
    _insert(tenant_a, "AppOpened", this_week + timedelta(minutes=2), user="new1")
    cohorts = retention_cohorts(app_pk=tenant_a.app.pk, weeks=4, now=this_week + timedelta(hours=1))
    assert [(c.week.date(), c.users, c.retained) for c in cohorts] == [
        ((last_week - timedelta(hours=12)).date(), 2, [2, 1]),
        ((this_week - timedelta(hours=12)).date(), 1, [1]),
    ]
