"""GET /organizations/<org>/apps/<app>/push/campaigns(/<id>): campaign status and counts, and nothing of other apps."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from rest_framework.test import APIClient

from tests.conftest import Tenant
from tests.tenants.conftest import app_url

pytestmark = pytest.mark.django_db


def _campaign(tenant: Tenant, campaign_id: str, **data: object) -> None:
    row = {"status": "succeeded", "source": "rest", "pushTime": "2030-01-01T00:00:00.000Z", "query": "{}",
           "payload": json.dumps({"alert": "hi"}), "numSent": 2, "numFailed": 1, "count": 3,
           "sentPerType": {"ios": 2}, "failedPerType": {"android": 1}, **data}  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO datastore_object (app_id, class_name, object_id, data, _rperm, _wperm) "
            "VALUES (%s, '_PushStatus', %s, %s, '{}', '{}')",
            [tenant.app.pk, campaign_id, json.dumps(row)],
        )
        for n, (state, error) in enumerate([("sent", ""), ("sent", ""), ("invalid", "UNREGISTERED")]):
            cursor.execute(
                "INSERT INTO messaging_pushdelivery (app_id, campaign_id, installation_id, device_type, push_type, "
                "device_token, app_identifier, locale, utc_offset, state, attempts, error, due_at, claimed_by, "
                "created_at, updated_at) VALUES (%s, %s, %s, 'ios', '', 't', '', '', '', %s, 1, %s, now(), '', now(), "
                "now())",
                [tenant.app.pk, campaign_id, f"i{n}", state, error],
            )


def test_campaigns_list_with_status_and_counts(alice: APIClient, tenant_a: Tenant):
    _campaign(tenant_a, "c1")
    _campaign(tenant_a, "c2", status="running")
    answer = alice.get(app_url(tenant_a, "/push/campaigns"))
    assert answer.status_code == 200, answer.content
    by_id = {row["id"]: row for row in answer.json()}
    assert set(by_id) == {"c1", "c2"}
    one = by_id["c1"]
    assert (one["status"], one["num_sent"], one["num_failed"], one["count"]) == ("succeeded", 2, 1, 3)
    assert one["sent_per_type"] == {"ios": 2}
    assert one["payload"] == {"alert": "hi"}
    assert one["deliveries"] == {"queued": 0, "sending": 0, "sent": 2, "failed": 0, "invalid": 1}
    assert one["failed_per_error"] == {"UNREGISTERED": 1}
    running = alice.get(app_url(tenant_a, "/push/campaigns"), {"status": "running"}).json()
    assert [row["id"] for row in running] == ["c2"]
    detail = alice.get(app_url(tenant_a, "/push/campaigns/c1"))
    assert detail.status_code == 200
    assert detail.json()["id"] == "c1"


def test_bad_filters_are_a_400(alice: APIClient, tenant_a: Tenant):
    assert alice.get(app_url(tenant_a, "/push/campaigns"), {"status": "lost"}).status_code == 400
    assert alice.get(app_url(tenant_a, "/push/campaigns"), {"limit": "0"}).status_code == 400


def test_another_tenants_campaigns_are_not_found(alice: APIClient, bob: APIClient, tenant_a: Tenant, tenant_b: Tenant):
    _campaign(tenant_a, "secret")
    _campaign(tenant_b, "bobs")
    # Bob under alice's organization and app: 404, as for an organization that does not exist.
    assert bob.get(app_url(tenant_a, "/push/campaigns")).status_code == 404
    assert bob.get(app_url(tenant_a, "/push/campaigns/secret")).status_code == 404
    # Alice naming bob's campaign under her own app: not found, not bob's data.
    assert alice.get(app_url(tenant_a, "/push/campaigns/bobs")).status_code == 404
    assert [row["id"] for row in alice.get(app_url(tenant_a, "/push/campaigns")).json()] == ["secret"]
    # Alice's organization with bob's app id.
    path = f"/api/v1/organizations/{tenant_a.organization.pk}/apps/{tenant_b.app.pk}/push/campaigns"
    assert alice.get(path).status_code == 404


def test_anonymous_callers_are_refused(tenant_a: Tenant):
    assert APIClient().get(app_url(tenant_a, "/push/campaigns")).status_code in (401, 403)
