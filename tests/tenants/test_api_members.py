"""Members of an organization, role changes, and invitations by email."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.core import mail
from rest_framework.test import APIClient

from tenants.models import Invitation, Membership
from tenants.services import developer_sign_up
from tests.conftest import PASSWORD, Tenant
from tests.tenants.conftest import API, Caller, client_for, org_url

pytestmark = pytest.mark.django_db

INVITATION_LINK = re.compile(r"/invitations/(?P<token>[A-Za-z0-9_-]+)/")


def owner_membership(tenant: Tenant) -> Membership:
    return Membership.objects.get(organization=tenant.organization, developer=tenant.developer)


def membership_of(tenant: Tenant, caller: Caller) -> Membership:
    return Membership.objects.get(organization=tenant.organization, developer=caller.developer)


def test_members_are_listed_with_their_roles(alice: APIClient, member_of: Callable[[str], Caller], tenant_a: Tenant):
    member_of("viewer")
    body = alice.get(org_url(tenant_a, "/members")).json()
    assert [(m["email"], m["role"]) for m in body] == [("alice@example.com", "owner"), ("viewer@example.com", "viewer")]
    assert body[0]["name"] == "Alice"
    assert body[0]["organization_id"] == tenant_a.organization.pk


def test_an_admin_changes_a_members_role(member_of: Callable[[str], Caller], tenant_a: Tenant):
    admin, viewer = member_of("admin"), member_of("viewer")
    membership = membership_of(tenant_a, viewer)
    response = admin.client.patch(org_url(tenant_a, f"/members/{membership.pk}"), {"role": "developer"}, format="json")
    assert response.status_code == 200
    assert response.json()["role"] == "developer"
    membership.refresh_from_db()
    assert membership.role == "developer"


def test_an_unknown_role_is_400(alice: APIClient, member_of: Callable[[str], Caller], tenant_a: Tenant):
    membership = membership_of(tenant_a, member_of("viewer"))
    response = alice.patch(org_url(tenant_a, f"/members/{membership.pk}"), {"role": "emperor"}, format="json")
    assert (response.status_code, response.json()["field"]) == (400, "role")


def test_an_admin_cannot_make_an_owner(member_of: Callable[[str], Caller], tenant_a: Tenant):
    admin, viewer = member_of("admin"), member_of("viewer")
    membership = membership_of(tenant_a, viewer)
    response = admin.client.patch(org_url(tenant_a, f"/members/{membership.pk}"), {"role": "owner"}, format="json")
    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")
    membership.refresh_from_db()
    assert membership.role == "viewer"


def test_a_viewer_cannot_change_roles(member_of: Callable[[str], Caller], tenant_a: Tenant):
    viewer = member_of("viewer")
    response = viewer.client.patch(
        org_url(tenant_a, f"/members/{owner_membership(tenant_a).pk}"), {"role": "viewer"}, format="json"
    )
    assert response.status_code == 403
    assert owner_membership(tenant_a).role == "owner"


def test_the_last_owner_cannot_be_demoted_or_removed(alice: APIClient, tenant_a: Tenant):
    url = org_url(tenant_a, f"/members/{owner_membership(tenant_a).pk}")
    demoted = alice.patch(url, {"role": "admin"}, format="json")
    assert demoted.status_code == 400
    assert demoted.json() == {
        "code": "invalid",
        "detail": "An organization needs at least one owner.",
        "field": "role",
    }
    removed = alice.delete(url)
    assert (removed.status_code, removed.json()["field"]) == (400, "role")
    assert owner_membership(tenant_a).role == "owner"


def test_with_a_second_owner_the_first_may_step_down(
    alice: APIClient, member_of: Callable[[str], Caller], tenant_a: Tenant
):
    member_of("owner", label="carol")
    response = alice.patch(
        org_url(tenant_a, f"/members/{owner_membership(tenant_a).pk}"), {"role": "admin"}, format="json"
    )
    assert (response.status_code, response.json()["role"]) == (200, "admin")


def test_removing_a_member_takes_their_access(alice: APIClient, member_of: Callable[[str], Caller], tenant_a: Tenant):
    developer = member_of("developer")
    membership = membership_of(tenant_a, developer)
    assert alice.delete(org_url(tenant_a, f"/members/{membership.pk}")).status_code == 204
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert developer.client.get(org_url(tenant_a)).status_code == 404


def test_a_viewer_may_leave_but_not_remove_others(member_of: Callable[[str], Caller], tenant_a: Tenant):
    viewer, other = member_of("viewer"), member_of("developer")
    other_membership = membership_of(tenant_a, other)
    assert viewer.client.delete(org_url(tenant_a, f"/members/{other_membership.pk}")).status_code == 403
    own = membership_of(tenant_a, viewer)
    assert viewer.client.delete(org_url(tenant_a, f"/members/{own.pk}")).status_code == 204
    assert Membership.objects.filter(pk=other_membership.pk).exists()


def test_invite_by_email_and_accept_through_the_api(
    alice: APIClient, tenant_a: Tenant, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = alice.post(
            org_url(tenant_a, "/invitations"), {"email": "carol@example.com", "role": "developer"}, format="json"
        )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "email", "role", "created_at", "expires_at"}
    assert (body["email"], body["role"]) == ("carol@example.com", "developer")
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["carol@example.com"]
    token = INVITATION_LINK.search(email.body)["token"]
    assert token not in response.content.decode()
    assert token not in alice.get(org_url(tenant_a, "/invitations")).content.decode()

    carol = developer_sign_up(email="carol@example.com", password=PASSWORD, name="Carol")
    carol_client = client_for(carol)
    assert carol_client.get(org_url(tenant_a)).status_code == 404
    accepted = carol_client.post(f"{API}/invitations/accept", {"token": token}, format="json")
    assert accepted.status_code == 200
    assert accepted.json()["role"] == "developer"
    assert accepted.json()["organization"]["id"] == tenant_a.organization.pk
    assert carol_client.get(org_url(tenant_a)).status_code == 200
    again = carol_client.post(f"{API}/invitations/accept", {"token": token}, format="json")
    assert (again.status_code, again.json()["code"]) == (400, "invitation_invalid")


def test_an_invitation_cannot_be_accepted_by_someone_else(
    alice: APIClient, bob: APIClient, tenant_a: Tenant, tenant_b: Tenant, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        alice.post(org_url(tenant_a, "/invitations"), {"email": "carol@example.com", "role": "admin"}, format="json")
    token = INVITATION_LINK.search(mail.outbox[0].body)["token"]
    response = bob.post(f"{API}/invitations/accept", {"token": token}, format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == "This invitation was sent to carol@example.com; sign in with that address."
    assert not Membership.objects.filter(organization=tenant_a.organization, developer=tenant_b.developer).exists()


def test_open_invitations_are_listed_and_can_be_revoked(alice: APIClient, tenant_a: Tenant):
    created = alice.post(
        org_url(tenant_a, "/invitations"), {"email": "dave@example.com", "role": "viewer"}, format="json"
    )
    invitation_id = created.json()["id"]
    assert [i["email"] for i in alice.get(org_url(tenant_a, "/invitations")).json()] == ["dave@example.com"]
    assert alice.delete(org_url(tenant_a, f"/invitations/{invitation_id}")).status_code == 204
    assert alice.get(org_url(tenant_a, "/invitations")).json() == []
    assert Invitation.objects.get(pk=invitation_id).revoked_at is not None
    assert alice.delete(org_url(tenant_a, f"/invitations/{invitation_id}")).status_code == 404


def test_a_revoked_invitation_cannot_be_accepted(
    alice: APIClient, tenant_a: Tenant, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        created = alice.post(
            org_url(tenant_a, "/invitations"), {"email": "erin@example.com", "role": "viewer"}, format="json"
        )
    alice.delete(org_url(tenant_a, f"/invitations/{created.json()['id']}"))
    token = INVITATION_LINK.search(mail.outbox[0].body)["token"]
    erin = client_for(developer_sign_up(email="erin@example.com", password=PASSWORD))
    response = erin.post(f"{API}/invitations/accept", {"token": token}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "invitation_invalid")


@pytest.mark.parametrize(
    ("payload", "field"),
    [({"email": "nope", "role": "viewer"}, "email"), ({"email": "f@example.com", "role": "emperor"}, "role")],
)
def test_invalid_invitations_are_400(alice: APIClient, tenant_a: Tenant, payload, field):
    response = alice.post(org_url(tenant_a, "/invitations"), payload, format="json")
    assert (response.status_code, response.json()["field"]) == (400, field)
    assert not Invitation.objects.exists()


def test_inviting_an_existing_member_is_400(alice: APIClient, tenant_a: Tenant):
    response = alice.post(
        org_url(tenant_a, "/invitations"), {"email": "alice@example.com", "role": "viewer"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["detail"] == "This person is already a member."


def test_a_developer_cannot_invite(member_of: Callable[[str], Caller], tenant_a: Tenant):
    developer = member_of("developer")
    response = developer.client.post(
        org_url(tenant_a, "/invitations"), {"email": "g@example.com", "role": "viewer"}, format="json"
    )
    assert response.status_code == 403
    assert not Invitation.objects.filter(email="g@example.com").exists()
