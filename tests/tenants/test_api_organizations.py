"""Organizations and their audit log."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from tenants.models import AuditEvent, Membership, Organization
from tests.conftest import Tenant
from tests.tenants.conftest import API, Caller, org_url

pytestmark = pytest.mark.django_db


def test_list_shows_only_my_organizations(alice: APIClient, tenant_a: Tenant, tenant_b: Tenant):
    body = alice.get(f"{API}/organizations").json()
    assert [org["id"] for org in body] == [tenant_a.organization.pk]
    assert body[0] == {
        "id": tenant_a.organization.pk,
        "name": "Alice's organization",
        "slug": tenant_a.organization.slug,
        "plan": "free",
        "created_at": body[0]["created_at"],
    }


def test_creating_an_organization_makes_me_its_owner(alice: APIClient, tenant_a: Tenant):
    response = alice.post(f"{API}/organizations", {"name": "Acme Inc"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert (body["name"], body["slug"], body["plan"]) == ("Acme Inc", "acme-inc", "free")
    membership = Membership.objects.get(organization_id=body["id"])
    assert (membership.developer, membership.role) == (tenant_a.developer, "owner")
    assert {org["name"] for org in alice.get(f"{API}/organizations").json()} == {"Alice's organization", "Acme Inc"}


def test_an_empty_organization_name_is_400(alice: APIClient):
    response = alice.post(f"{API}/organizations", {"name": "   "}, format="json")
    assert (response.status_code, response.json()["field"]) == (400, "name")
    assert Organization.objects.count() == 1


def test_get_one_organization(alice: APIClient, tenant_a: Tenant):
    body = alice.get(org_url(tenant_a)).json()
    assert (body["id"], body["name"]) == (tenant_a.organization.pk, "Alice's organization")


def test_owner_renames_the_organization(alice: APIClient, tenant_a: Tenant):
    response = alice.patch(org_url(tenant_a), {"name": "Alice & Co"}, format="json")
    assert response.status_code == 200
    assert response.json()["name"] == "Alice & Co"
    tenant_a.organization.refresh_from_db()
    assert tenant_a.organization.name == "Alice & Co"
    event = AuditEvent.objects.get(action="organization.rename")
    assert event.details == {"from": "Alice's organization", "to": "Alice & Co"}


def test_a_developer_cannot_rename_the_organization(member_of: Callable[[str], Caller], tenant_a: Tenant):
    developer = member_of("developer")
    response = developer.client.patch(org_url(tenant_a), {"name": "Mine now"}, format="json")
    assert response.status_code == 403
    assert response.json() == {
        "code": "permission_denied",
        "detail": "This needs the admin role or higher; you are developer.",
    }
    tenant_a.organization.refresh_from_db()
    assert tenant_a.organization.name == "Alice's organization"


def test_unknown_organization_is_404(alice: APIClient):
    response = alice.get(f"{API}/organizations/987654321")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "Organization not found."}


def test_audit_log_is_paginated_newest_first(alice: APIClient, tenant_a: Tenant):
    alice.patch(org_url(tenant_a), {"name": "Renamed"}, format="json")
    body = alice.get(org_url(tenant_a, "/audit-log")).json()
    assert body["count"] == 3
    assert [event["action"] for event in body["results"]] == [
        "organization.rename",
        "app.create",
        "organization.create",
    ]
    newest = body["results"][0]
    assert set(newest) == {
        "id",
        "created_at",
        "actor_email",
        "action",
        "target_type",
        "target_id",
        "target_name",
        "details",
    }
    assert newest["actor_email"] == "alice@example.com"
    assert newest["target_id"] == str(tenant_a.organization.pk)
    assert newest["details"] == {"from": "Alice's organization", "to": "Renamed"}
    page = alice.get(org_url(tenant_a, "/audit-log"), {"limit": 1, "offset": 1}).json()
    assert [event["action"] for event in page["results"]] == ["app.create"]
    assert page["next"]
    assert page["previous"]


def test_a_viewer_can_read_the_audit_log(member_of: Callable[[str], Caller], tenant_a: Tenant):
    viewer = member_of("viewer")
    response = viewer.client.get(org_url(tenant_a, "/audit-log"))
    assert response.status_code == 200
    assert "member.join" in {event["action"] for event in response.json()["results"]}
