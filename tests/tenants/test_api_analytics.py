"""An app's analytics and usage through the management API: members read them; nobody else learns they exist."""

from __future__ import annotations

import orjson
import pytest
from django.db import connection
from rest_framework.test import APIClient

from hangar.analytics.rollups import events_rollup
from tests.conftest import Tenant
from tests.tenants.conftest import API

pytestmark = pytest.mark.django_db(transaction=True)


def _app_url(tenant: Tenant, suffix: str) -> str:
    return f"{API}/organizations/{tenant.organization.pk}/apps/{tenant.app.pk}/{suffix}"


def _event(tenant: Tenant, name: str, minutes_ago: int, user: str, **dims: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO analytics_event (app_id, name, dimensions, user_id, at)"
            " VALUES (%s, %s, %s, %s, now() - make_interval(mins => %s))",
            [tenant.app.pk, name, orjson.dumps(dims).decode(), user, minutes_ago],
        )


def test_events_funnel_retention_and_usage(alice: APIClient, tenant_a: Tenant):
    _event(tenant_a, "View", 30, "u1", plan="free")
    _event(tenant_a, "View", 30, "u2", plan="pro")
    _event(tenant_a, "Buy", 20, "u1")
    events_rollup()
    stats = alice.get(_app_url(tenant_a, "analytics/events"), {"name": "View", "dimension": "plan"})
    assert stats.status_code == 200, stats.content
    body = stats.json()
    assert body["period"] == "day"
    assert sum(point["count"] for point in body["counts"]) == 2
    assert body["by_dimension"] == [{"value": "free", "count": 1}, {"value": "pro", "count": 1}]
    assert body["unique"] == {"users": 2, "installations": 0}
    funnel = alice.get(_app_url(tenant_a, "analytics/funnel"), {"steps": "View,Buy", "window_hours": 1})
    assert funnel.json() == {"steps": [{"name": "View", "actors": 2}, {"name": "Buy", "actors": 1}]}
    assert alice.get(_app_url(tenant_a, "analytics/retention"), {"weeks": 4}).json() == {"cohorts": []}
    usage = {line["metric"]: line for line in alice.get(_app_url(tenant_a, "usage")).json()}
    assert usage["requests"]["limit"] == 0
    assert usage["requests"]["description"] == "API requests this month"


@pytest.mark.parametrize(
    ("suffix", "query"),
    [
        ("analytics/funnel", {"steps": "OnlyOne"}),
        ("analytics/funnel", {"steps": "A,B", "window_hours": "soon"}),
        ("analytics/events", {"start": "2026-12-01T00:00:00Z", "end": "2026-11-01T00:00:00Z"}),
        ("analytics/events", {"start": "not a date"}),
        ("analytics/retention", {"weeks": 99}),
    ],
)
def test_bad_queries_are_400_with_the_reason(alice: APIClient, tenant_a: Tenant, suffix: str, query: dict):
    response = alice.get(_app_url(tenant_a, suffix), query)
    assert response.status_code == 400
    assert response.json()


@pytest.mark.parametrize("suffix", ["usage", "analytics/events", "analytics/funnel?steps=A,B", "analytics/retention"])
def test_alice_gets_404_for_bobs_app_however_she_asks(alice: APIClient, tenant_a: Tenant, tenant_b: Tenant, suffix):
    _event(tenant_b, "BobSecret", 5, "b1")
    bobs = alice.get(_app_url(tenant_b, suffix))
    assert bobs.status_code == 404
    assert bobs.json() == {"code": "not_found", "detail": "Organization not found."}
    via_own_org = alice.get(f"{API}/organizations/{tenant_a.organization.pk}/apps/{tenant_b.app.pk}/{suffix}")
    assert via_own_org.status_code == 404
    assert via_own_org.json() == {"code": "not_found", "detail": "App not found."}
    assert b"BobSecret" not in bobs.content + via_own_org.content


def test_anonymous_clients_get_nothing(tenant_a: Tenant):
    response = APIClient().get(_app_url(tenant_a, "usage"))
    assert response.status_code in {401, 403}
