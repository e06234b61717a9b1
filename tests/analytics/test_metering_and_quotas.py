"""Requests metered at admission, usage collected per hour, plan quotas enforced at the boundary, 80% warnings."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.core import mail

from hangar.analytics.metering import usage_collect
from hangar.analytics.models import QuotaWarning, UsageRecord
from hangar.analytics.quotas import app_usage, quota_warnings_send
from hangar.invalidation import publish_app_changed
from tenants.models import App, Plan
from tests.conftest import Tenant

pytestmark = pytest.mark.django_db(transaction=True)


async def _put_on_plan(tenant: Tenant, **limits: int) -> Plan:
    plan = await Plan.objects.acreate(name=f"plan-{tenant.app.pk}", requests_per_second=0, **limits)
    tenant.organization.plan = plan
    await tenant.organization.asave(update_fields=["plan"])
    publish_app_changed(tenant.application_id)
    return plan


async def _get(client, tenant: Tenant, key: str = "rest"):
    return await client.get("/parse/config", headers=tenant.parse_headers(key))


async def test_the_request_that_crosses_the_monthly_quota_is_refused_and_the_one_before_is_not(
    parse_client, tenant_a: Tenant, tenant_b: Tenant
):
    await _put_on_plan(tenant_a, monthly_requests=5)
    statuses = [(await _get(parse_client, tenant_a)).status_code for _ in range(5)]
    assert statuses == [200] * 5
    refused = await _get(parse_client, tenant_a)
    assert refused.status_code == 429
    assert refused.json() == {"code": 155, "error": "This app has used the 5 requests its plan allows this month."}
    assert 0 < int(refused.headers["retry-after"]) <= 31 * 86400
    assert (await _get(parse_client, tenant_a, "master")).status_code == 429  # the master key counts too
    assert (await _get(parse_client, tenant_b)).status_code == 200  # another app has its own quota


async def test_concurrent_requests_at_the_boundary_admit_exactly_the_quota(parse_client, tenant_a: Tenant):
    """Requests that arrive together share one Redis round trip; each still gets its own place in the month."""
    await _put_on_plan(tenant_a, monthly_requests=7)
    await _get(parse_client, tenant_a)  # 1 used; the app is now cached
    responses = await asyncio.gather(*(_get(parse_client, tenant_a) for _ in range(10)))
    assert sorted(r.status_code for r in responses) == [200] * 6 + [429] * 4


async def test_anonymous_requests_never_use_an_apps_quota(parse_client, tenant_a: Tenant):
    """An attacker knowing the public application id cannot exhaust the app's monthly requests."""
    await _put_on_plan(tenant_a, monthly_requests=3)
    for _ in range(10):
        anonymous = await parse_client.get(
            "/parse/classes/Thing", headers={"X-Parse-Application-Id": tenant_a.application_id}
        )
        assert anonymous.status_code == 403
        wrong_key = await parse_client.get(
            "/parse/classes/Thing",
            headers={"X-Parse-Application-Id": tenant_a.application_id, "X-Parse-REST-API-Key": "guess"},
        )
        assert wrong_key.status_code == 403
    assert [(await _get(parse_client, tenant_a)).status_code for _ in range(4)] == [200, 200, 200, 429]


async def test_requests_are_collected_per_app_and_hour(parse_client, tenant_a: Tenant, tenant_b: Tenant):
    for _ in range(4):
        await _get(parse_client, tenant_a)
    await _get(parse_client, tenant_b)
    await sync_to_async(usage_collect)()
    await sync_to_async(usage_collect)()  # absolute values: a repeated run counts nothing twice
    a = [r.value async for r in UsageRecord.objects.filter(app_id=tenant_a.app.pk, metric="requests")]
    b = [r.value async for r in UsageRecord.objects.filter(app_id=tenant_b.app.pk, metric="requests")]
    assert (a, b) == ([4], [1])
    sampled = {r.metric async for r in UsageRecord.objects.filter(app_id=tenant_a.app.pk)}
    assert {"database_bytes", "file_bytes", "live_connections"} <= sampled


async def test_metering_off_counts_nothing_and_enforces_no_monthly_quota(parse_client, tenant_a: Tenant, settings):
    await _put_on_plan(tenant_a, monthly_requests=2)
    settings.HANGAR_METERING = False
    assert [(await _get(parse_client, tenant_a)).status_code for _ in range(4)] == [200] * 4
    settings.HANGAR_METERING = True
    usage = await sync_to_async(app_usage)(
        await App.objects.select_related("organization__plan").aget(pk=tenant_a.app.pk)
    )
    assert next(line.used for line in usage if line.metric == "requests") == 0


async def test_eighty_percent_of_a_limit_warns_the_owners_once(parse_client, tenant_a: Tenant, tenant_b: Tenant):
    await _put_on_plan(tenant_a, monthly_requests=10)
    for _ in range(8):
        assert (await _get(parse_client, tenant_a)).status_code == 200
    await _get(parse_client, tenant_b)
    assert await sync_to_async(quota_warnings_send)() == 1
    assert await sync_to_async(quota_warnings_send)() == 0  # once per app, limit and month
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [tenant_a.developer.email]
    assert "80%" in mail.outbox[0].subject
    assert tenant_a.app.name in mail.outbox[0].subject
    warning = await QuotaWarning.objects.aget()
    assert (warning.app_id, warning.metric, warning.used, warning.limit) == (tenant_a.app.pk, "requests", 8, 10)
