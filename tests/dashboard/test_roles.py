"""The Roles pages: create a role, add and remove users through its relation, delete it; the grants follow."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from django.test import Client
from django.urls import reverse

from hangar.identity.roles import user_role_names
from tenants import users_console
from tests.conftest import Tenant
from tests.dashboard.conftest import AddMember, logged_in

pytestmark = pytest.mark.django_db(transaction=True)


def url(tenant: Tenant, name: str, *extra: str) -> str:
    return reverse(f"dashboard:{name}", args=[tenant.organization.pk, tenant.app.pk, *extra])


def roles_of(tenant: Tenant, user_id: str) -> set[str]:
    """The role names the data plane grants the user (read fresh: no role version, first read per test)."""
    return set(async_to_sync(user_role_names)(app_pk=tenant.app.pk, user_id=user_id, role_version=None))


def test_a_role_is_created_given_members_and_deleted(alice_client: Client, tenant_a: Tenant) -> None:
    ada = users_console.user_create(app=tenant_a.app, username="ada", password="pw-12345")

    created = alice_client.post(url(tenant_a, "role_create"), {"name": "Admins", "public_read": "on"})
    role_id = created.url.rstrip("/").rsplit("/", 1)[1]
    alice_client.post(url(tenant_a, "role_member_add", role_id), {"username": "ada"})

    assert "Admins" in roles_of(tenant_a, ada)
    page = alice_client.get(url(tenant_a, "role_detail", role_id)).content.decode()
    assert "ada" in page
    alice_client.post(url(tenant_a, "role_member_remove", role_id, ada))
    assert users_console.role_members(app=tenant_a.app, role_id=role_id).rows == []
    alice_client.post(url(tenant_a, "role_delete", role_id))
    assert users_console.role_page(app=tenant_a.app).rows == []


def test_bad_names_and_unknown_users_are_clear_errors(alice_client: Client, tenant_a: Tenant) -> None:
    bad = alice_client.post(url(tenant_a, "role_create"), {"name": "no/slashes"}, follow=True).content.decode()
    assert "Parse error" in bad
    role_id = users_console.role_create(app=tenant_a.app, name="Staff")

    missing = alice_client.post(url(tenant_a, "role_member_add", role_id), {"username": "ghost"}, follow=True)

    assert "No user named" in missing.content.decode()
    duplicate = alice_client.post(url(tenant_a, "role_create"), {"name": "Staff"}, follow=True).content.decode()
    assert "Parse error 137" in duplicate


def test_a_viewer_sees_roles_and_changes_nothing(tenant_a: Tenant, add_member: AddMember) -> None:
    ada = users_console.user_create(app=tenant_a.app, username="ada", password="pw-12345")
    role_id = users_console.role_create(app=tenant_a.app, name="Staff")
    viewer = logged_in(add_member(tenant_a, "vera", "viewer").developer)

    assert "Staff" in viewer.get(url(tenant_a, "roles")).content.decode()
    attempts = [
        viewer.post(url(tenant_a, "role_create"), {"name": "Sneaky"}),
        viewer.post(url(tenant_a, "role_member_add", role_id), {"username": "ada"}),
        viewer.post(url(tenant_a, "role_member_remove", role_id, ada)),
        viewer.post(url(tenant_a, "role_delete", role_id)),
    ]
    assert [response.status_code for response in attempts] == [403] * 4
    assert [role["name"] for role in users_console.role_page(app=tenant_a.app).rows] == ["Staff"]
    assert users_console.role_members(app=tenant_a.app, role_id=role_id).rows == []
    assert "Staff" not in roles_of(tenant_a, ada)
