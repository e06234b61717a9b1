"""Rate limits per app, and key rotation / app deletion taking effect at once in another process."""

from __future__ import annotations

import httpx
import pytest

from hangar.invalidation import publish_app_changed
from tenants.models import App
from tenants.services import app_delete, app_key_rotate
from tests.conftest import Tenant

pytestmark = pytest.mark.django_db(transaction=True)


async def _set_rate_limit(app: App, rps: int) -> None:
    await App.objects.filter(pk=app.pk).aupdate(rate_limit_rps=rps)
    publish_app_changed(app.application_id)


async def test_rate_limit_answers_429_with_retry_after(parse_client, tenant_a: Tenant, tenant_b: Tenant):
    await _set_rate_limit(tenant_a.app, 3)
    statuses = []
    for _ in range(12):
        response = await parse_client.get("/parse/serverInfo", headers=tenant_a.parse_headers("master"))
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert response.json() == {"code": 100, "error": "Too many requests."}
            assert response.headers["retry-after"] == "1"
    assert 429 in statuses
    assert statuses.count(200) <= 6  # at most two one-second windows of 3
    # Another app has its own budget.
    other = await parse_client.get("/parse/serverInfo", headers=tenant_b.parse_headers("master"))
    assert other.status_code == 200


async def test_zero_means_unlimited(parse_client, tenant_a: Tenant):
    await _set_rate_limit(tenant_a.app, 0)
    for _ in range(30):
        response = await parse_client.get("/parse/serverInfo", headers=tenant_a.parse_headers("master"))
        assert response.status_code == 200


def test_rotated_key_stops_working_at_once_in_another_process(live_server, tenant_a: Tenant):
    url = f"{live_server.url}/parse/serverInfo"
    old_headers = tenant_a.parse_headers("master")
    assert httpx.get(url, headers=old_headers).status_code == 200  # the server now caches the app
    new_master = app_key_rotate(
        actor=tenant_a.developer, organization=tenant_a.organization, app_pk=tenant_a.app.pk, kind="master"
    )
    refused = httpx.get(url, headers=old_headers)
    assert (refused.status_code, refused.json()) == (403, {"error": "unauthorized"})
    new_headers = {**old_headers, "X-Parse-Master-Key": new_master}
    assert httpx.get(url, headers=new_headers).status_code == 200


def test_deleted_app_stops_answering_at_once(live_server, tenant_a: Tenant):
    url = f"{live_server.url}/parse/serverInfo"
    assert httpx.get(url, headers=tenant_a.parse_headers("master")).status_code == 200
    app_delete(
        actor=tenant_a.developer, organization=tenant_a.organization, app_pk=tenant_a.app.pk,
        confirm_name=tenant_a.app.name,
    )  # fmt: skip
    assert httpx.get(url, headers=tenant_a.parse_headers("master")).status_code == 403


async def test_concurrent_requests_sharing_a_redis_round_trip_each_count(parse_client, tenant_a: Tenant):
    """Requests arriving together share one version read, but every one of them is counted."""
    import asyncio

    await _set_rate_limit(tenant_a.app, 4)
    await parse_client.get("/parse/serverInfo", headers=tenant_a.parse_headers("master"))  # warm the app cache
    responses = await asyncio.gather(
        *(parse_client.get("/parse/serverInfo", headers=tenant_a.parse_headers("master")) for _ in range(12))
    )
    statuses = [response.status_code for response in responses]
    assert statuses.count(429) >= 4
    assert statuses.count(200) <= 8  # at most two one-second windows of 4
