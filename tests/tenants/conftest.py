"""Management API fixtures: token-authenticated clients for the two tenants and for extra members."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from rest_framework.test import APIClient

from tenants.models import App, AppKey, AuditEvent, Developer, Invitation, Membership, Organization
from tenants.services import access_token_create, developer_sign_up, invitation_accept, invitation_create
from tests.conftest import PASSWORD, Tenant

API = "/api/v1"


@dataclass
class Caller:
    """A developer and an API client that authenticates as them with a personal access token."""

    developer: Developer
    client: APIClient


def client_for(developer: Developer) -> APIClient:
    _, plain = access_token_create(developer=developer, name="tests")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    return client


@pytest.fixture
def alice(tenant_a: Tenant) -> APIClient:
    return client_for(tenant_a.developer)


@pytest.fixture
def bob(tenant_b: Tenant) -> APIClient:
    return client_for(tenant_b.developer)


@pytest.fixture
def member_of(tenant_a: Tenant) -> Callable[[str], Caller]:
    """Add a new developer to alice's organization with a role (through a real invitation)."""

    def make(role: str, label: str | None = None) -> Caller:
        email = f"{label or role}@example.com"
        developer = developer_sign_up(email=email, password=PASSWORD, name=(label or role).title())
        _, token = invitation_create(
            actor=tenant_a.developer, organization=tenant_a.organization, email=email, role=role
        )
        invitation_accept(developer=developer, token=token)
        return Caller(developer=developer, client=client_for(developer))

    return make


def org_url(tenant: Tenant, suffix: str = "") -> str:
    return f"{API}/organizations/{tenant.organization.pk}{suffix}"


def app_url(tenant: Tenant, suffix: str = "") -> str:
    return org_url(tenant, f"/apps/{tenant.app.pk}{suffix}")


def tenant_state(organization: Organization) -> dict[str, Any]:
    """Everything the management API can change about an organization, to assert nothing did."""
    organization.refresh_from_db()
    apps = App.objects.filter(organization=organization).order_by("pk")
    return {
        "organization": organization.name,
        "members": list(Membership.objects.filter(organization=organization).order_by("pk").values_list("pk", "role")),
        "invitations": list(
            Invitation.objects.filter(organization=organization)
            .order_by("pk")
            .values_list("pk", "accepted_at", "revoked_at")
        ),
        "apps": list(apps.values_list("pk", "name", "status")),
        "keys": list(AppKey.objects.filter(app__in=apps).order_by("pk").values_list("pk", "ciphertext")),
        "audit_events": AuditEvent.objects.filter(organization=organization).count(),
    }


@pytest.fixture(autouse=True)
def _fresh_throttle_budget() -> Any:
    """The token-exchange throttle counts in the shared Redis cache; each test starts with a full budget."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
