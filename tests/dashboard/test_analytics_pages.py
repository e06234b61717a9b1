"""The Analytics and Usage pages of an app, the 80% banner, and the staff-only usage of every tenant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from hangar.analytics.metering import usage_collect
from hangar.analytics.models import QuotaWarning, UsageRecord
from hangar.analytics.rollups import events_rollup
from tenants.models import Plan
from tests.conftest import Tenant
from tests.dashboard.conftest import AddMember, logged_in

pytestmark = pytest.mark.django_db


def _event(tenant: Tenant, name: str, *, user: str = "", minutes: int = 0, **dims: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO analytics_event (app_id, name, dimensions, user_id, at)"
            " VALUES (%s, %s, %s, %s, now() - make_interval(mins => %s))",
            [tenant.app.pk, name, orjson.dumps(dims).decode(), user, minutes],
        )


def _url(name: str, tenant: Tenant) -> str:
    return reverse(f"dashboard:{name}", args=[tenant.organization.pk, tenant.app.pk])


def test_analytics_page_charts_events_by_dimension_and_a_funnel(
    alice_client: Client, tenant_a: Tenant, tenant_b: Tenant
):
    for plan in ["free", "free", "pro"]:
        _event(tenant_a, "Search", user="u1", minutes=10, plan=plan)
    _event(tenant_a, "Purchase", user="u1")
    _event(tenant_b, "BobsSecretEvent")
    events_rollup(now=datetime.now(UTC) + timedelta(seconds=1))
    response = alice_client.get(
        _url("analytics", tenant_a),
        {"range": "24h", "event": "Search", "dimension": "plan", "funnel": "Search, Purchase", "window_hours": "2"},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "<title>free: 2</title>" in body
    assert "<title>pro: 1</title>" in body
    assert 'id="funnel-result"' in body
    assert "<td>Purchase</td><td>1</td><td>100%</td>" in body
    assert "BobsSecretEvent" not in body  # another app's events never show
    for chart in ("requests-chart", "active-chart", "storage-chart", "invocations-chart", "messages-chart"):
        assert f'id="{chart}"' in body


def test_a_bad_funnel_is_a_clear_message_not_an_error(alice_client: Client, tenant_a: Tenant):
    response = alice_client.get(_url("analytics", tenant_a), {"funnel": "OnlyOne", "window_hours": "x"})
    assert response.status_code == 200
    assert "alert-error" in response.content.decode()


def test_usage_page_shows_the_plan_limits_and_the_80_percent_banner(alice_client: Client, tenant_a: Tenant):
    plan = Plan.objects.create(name="small", requests_per_second=10, monthly_requests=100)
    tenant_a.organization.plan = plan
    tenant_a.organization.save(update_fields=["plan"])
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    UsageRecord.objects.create(app=tenant_a.app, metric="requests", hour=hour, value=85)
    response = alice_client.get(_url("usage", tenant_a))
    body = response.content.decode()
    assert response.status_code == 200
    assert "quota-banner" in body
    assert "85% of the plan&#x27;s limit used" in body or "85% of the plan's limit used" in body
    assert QuotaWarning.objects.count() == 0  # the page shows; the Celery task records and mails
    settings_page = alice_client.get(
        reverse("dashboard:app_settings", args=[tenant_a.organization.pk, tenant_a.app.pk])
    )
    assert "quota-banner" in settings_page.content.decode()  # the app's main page warns too


def test_usage_page_without_limits_near_shows_no_banner(alice_client: Client, tenant_a: Tenant):
    usage_collect()
    response = alice_client.get(_url("usage", tenant_a))
    assert response.status_code == 200
    assert "quota-banner" not in response.content.decode()


def test_a_viewer_of_the_organization_may_see_analytics(tenant_a: Tenant, add_member: AddMember):
    viewer = add_member(tenant_a, "victor", "viewer")
    client = logged_in(viewer.developer)
    assert client.get(_url("analytics", tenant_a)).status_code == 200
    assert client.get(_url("usage", tenant_a)).status_code == 200


def test_staff_see_every_tenants_usage_sorted_and_others_get_404(tenant_a: Tenant, tenant_b: Tenant):
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    UsageRecord.objects.create(app=tenant_a.app, metric="requests", hour=hour, value=5)
    UsageRecord.objects.create(app=tenant_b.app, metric="requests", hour=hour, value=50)
    assert logged_in(tenant_a.developer).get(reverse("dashboard:staff_usage")).status_code == 404
    assert Client().get(reverse("dashboard:staff_usage")).status_code == 404
    tenant_a.developer.is_staff = True
    tenant_a.developer.save(update_fields=["is_staff"])
    staff = logged_in(tenant_a.developer)
    body = staff.get(reverse("dashboard:staff_usage"), {"sort": "requests"}).content.decode()
    assert body.index("bob-app") < body.index("alice-app")  # 50 requests before 5
    by_name = staff.get(reverse("dashboard:staff_usage"), {"sort": "app"}).content.decode()
    assert by_name.index("alice-app") < by_name.index("bob-app")
    assert staff.get(reverse("dashboard:staff_usage"), {"sort": "'; DROP TABLE x"}).status_code == 200


def test_staff_see_usage_per_organization(tenant_a: Tenant, tenant_b: Tenant):
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    UsageRecord.objects.create(app=tenant_a.app, metric="requests", hour=hour, value=7)
    UsageRecord.objects.create(app=tenant_b.app, metric="requests", hour=hour, value=3)
    tenant_b.developer.is_staff = True
    tenant_b.developer.save(update_fields=["is_staff"])
    body = logged_in(tenant_b.developer).get(reverse("dashboard:staff_usage"), {"group": "organization"}).content
    text = body.decode()
    assert 'id="staff-usage-organizations"' in text
    assert text.index(escape(tenant_a.organization.name)) < text.index(escape(tenant_b.organization.name))  # 7, 3
    assert "<tr><td>7</td>" in text


def test_staff_sort_tenants_by_cloud_code_cpu_and_build_minutes(tenant_a: Tenant, tenant_b: Tenant):
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    UsageRecord.objects.create(app=tenant_a.app, metric="function_cpu_ms", hour=hour, value=90_000)  # 90 CPU s
    UsageRecord.objects.create(app=tenant_b.app, metric="function_cpu_ms", hour=hour, value=2_000)
    UsageRecord.objects.create(app=tenant_b.app, metric="build_ms", hour=hour, value=600_000)  # 10 min
    tenant_a.developer.is_staff = True
    tenant_a.developer.save(update_fields=["is_staff"])
    staff = logged_in(tenant_a.developer)
    by_cpu = staff.get(reverse("dashboard:staff_usage"), {"sort": "function_cpu_seconds"}).content.decode()
    assert by_cpu.index("alice-app") < by_cpu.index("bob-app")
    assert "<td>90</td><td>0</td>" in by_cpu  # alice: 90 CPU seconds, no build
    by_builds = staff.get(reverse("dashboard:staff_usage"), {"sort": "build_minutes"}).content.decode()
    assert by_builds.index("bob-app") < by_builds.index("alice-app")
    assert "<td>2</td><td>10</td>" in by_builds
