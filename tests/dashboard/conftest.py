"""Fixtures of the dashboard tests: logged-in clients and members added through real invitations."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from django.core.cache import cache
from django.test import Client

from tenants.models import Developer, Membership
from tenants.services import developer_sign_up, invitation_accept, invitation_create
from tests.conftest import PASSWORD, Tenant

AddMember = Callable[[Tenant, str, str], Membership]


@pytest.fixture(autouse=True)
def _fresh_sign_in_counters() -> Iterator[None]:
    """Wrong passwords are counted in the shared Redis cache; each test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def add_member(db: None) -> AddMember:
    """Sign up ``label``@example.com and make them a member of the tenant's organization with ``role``."""

    def add(tenant: Tenant, label: str, role: str) -> Membership:
        developer = developer_sign_up(email=f"{label}@example.com", password=PASSWORD, name=label.title())
        _invitation, token = invitation_create(
            actor=tenant.developer, organization=tenant.organization, email=developer.email, role=role
        )
        return invitation_accept(developer=developer, token=token)

    return add


def logged_in(developer: Developer) -> Client:
    client = Client()
    client.force_login(developer)
    return client


@pytest.fixture
def alice_client(tenant_a: Tenant) -> Client:
    return logged_in(tenant_a.developer)
