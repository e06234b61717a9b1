"""Scoped personal access tokens: read-only tokens only read; an organization's token reaches only it."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tenants.models import Organization
from tenants.services import access_token_create, organization_create
from tests.conftest import Tenant
from tests.tenants.conftest import API, app_url, org_url

pytestmark = pytest.mark.django_db


def bearer(plain: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    return client


def test_a_read_only_token_reads_but_changes_nothing(tenant_a: Tenant) -> None:
    _token, plain = access_token_create(developer=tenant_a.developer, name="ci", read_only=True)
    client = bearer(plain)

    assert client.get(app_url(tenant_a, "/keys")).status_code == 200
    refused = client.patch(app_url(tenant_a), {"name": "Renamed"}, format="json")
    assert refused.status_code == 403
    assert "read-only" in refused.json()["detail"]
    assert client.post(f"{API}/tokens", {"name": "escalate"}, format="json").status_code == 403
    tenant_a.app.refresh_from_db()
    assert tenant_a.app.name == "alice-app"


def test_an_organization_token_sees_and_changes_only_that_organization(tenant_a: Tenant) -> None:
    other = organization_create(actor=tenant_a.developer, name="Side project")
    _token, plain = access_token_create(
        developer=tenant_a.developer, name="deploy", organization_id=tenant_a.organization.pk
    )
    client = bearer(plain)

    listed = client.get(f"{API}/organizations").json()
    assert [org["id"] for org in listed] == [tenant_a.organization.pk]
    assert client.get(f"{API}/organizations/{other.pk}").status_code == 404
    assert client.patch(f"{API}/organizations/{other.pk}", {"name": "Pwned"}, format="json").status_code == 404
    assert client.patch(app_url(tenant_a), {"name": "Renamed"}, format="json").status_code == 200
    assert client.post(f"{API}/organizations", {"name": "New"}, format="json").status_code == 403
    assert client.post(f"{API}/tokens", {"name": "wider"}, format="json").status_code == 403
    other.refresh_from_db()
    assert other.name == "Side project"
    assert not Organization.objects.filter(name="New").exists()


def test_a_token_cannot_be_scoped_to_someone_elses_organization(alice: APIClient, tenant_b: Tenant) -> None:
    response = alice.post(
        f"{API}/tokens", {"name": "sneaky", "organization_id": tenant_b.organization.pk}, format="json"
    )

    assert response.status_code == 404


def test_scopes_are_listed_with_the_token(alice: APIClient, tenant_a: Tenant) -> None:
    created = alice.post(
        f"{API}/tokens",
        {"name": "readonly", "read_only": True, "organization_id": tenant_a.organization.pk},
        format="json",
    ).json()

    assert (created["read_only"], created["organization_id"]) == (True, tenant_a.organization.pk)
    assert bearer(created["token"]).get(org_url(tenant_a)).status_code == 200
