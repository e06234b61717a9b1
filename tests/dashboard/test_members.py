"""The members page: invitations by email, accepting them, role changes, removal, revocation."""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from tenants.models import Invitation, Membership
from tenants.services import developer_sign_up, invitation_create
from tests.conftest import PASSWORD, Tenant
from tests.dashboard.conftest import AddMember, logged_in

pytestmark = pytest.mark.django_db

CaptureOnCommit = Callable[..., AbstractContextManager[list[Callable[[], None]]]]


def members_url(tenant: Tenant) -> str:
    return reverse("dashboard:member_list", args=[tenant.organization.pk])


def invite_by_email(client: Client, tenant: Tenant, capture: CaptureOnCommit, email: str, role: str) -> str:
    """Invite through the dashboard and return the path of the link in the email sent."""
    with capture(execute=True):
        response = client.post(
            reverse("dashboard:member_invite", args=[tenant.organization.pk]), {"email": email, "role": role}
        )
    assert response.url == members_url(tenant)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [email]
    link = re.search(r"https?://\S+/invitations/\S+/", mail.outbox[0].body)
    assert link, mail.outbox[0].body
    return urlsplit(link.group(0)).path


def test_an_invitation_email_links_to_a_page_that_lets_the_invitee_join(
    alice_client: Client, tenant_a: Tenant, django_capture_on_commit_callbacks: CaptureOnCommit
) -> None:
    path = invite_by_email(alice_client, tenant_a, django_capture_on_commit_callbacks, "carol@example.com", "developer")
    assert "carol@example.com" in alice_client.get(members_url(tenant_a)).content.decode()

    carol = logged_in(developer_sign_up(email="carol@example.com", password=PASSWORD))
    page = carol.get(path)
    assert page.status_code == 200
    assert escape_free(tenant_a.organization.name) in page.content.decode()
    response = carol.post(path)

    assert response.url == reverse("dashboard:organization_detail", args=[tenant_a.organization.pk])
    membership = Membership.objects.get(organization=tenant_a.organization, developer__email="carol@example.com")
    assert membership.role == "developer"
    app_page = reverse("dashboard:app_settings", args=[tenant_a.organization.pk, tenant_a.app.pk])
    assert carol.get(app_page).status_code == 200
    assert carol.post(path).status_code == 400, "a link works once"


def escape_free(text: str) -> str:
    """The part of a name that HTML escaping leaves alone (our fixture names contain an apostrophe)."""
    return text.split("'")[0]


def test_an_anonymous_invitee_is_sent_to_sign_up_and_comes_back(
    alice_client: Client, tenant_a: Tenant, django_capture_on_commit_callbacks: CaptureOnCommit
) -> None:
    path = invite_by_email(alice_client, tenant_a, django_capture_on_commit_callbacks, "dave@example.com", "viewer")
    visitor = Client()

    page = visitor.get(path).content.decode()
    assert f"{reverse('dashboard:login')}?next={path}" in page
    assert f"{reverse('dashboard:signup')}?next={path}" in page
    assert visitor.post(path).url == f"{reverse('dashboard:login')}?next={path}"

    signed_up = visitor.post(
        reverse("dashboard:signup"), {"email": "dave@example.com", "password": PASSWORD, "next": path}
    )
    assert signed_up.url == path
    visitor.post(path)
    joined = Membership.objects.get(organization=tenant_a.organization, developer__email="dave@example.com")
    assert joined.role == "viewer"


def test_someone_else_cannot_use_an_invitation(tenant_a: Tenant, tenant_b: Tenant) -> None:
    _invitation, token = invitation_create(
        actor=tenant_a.developer, organization=tenant_a.organization, email="carol@example.com", role="admin"
    )
    bob = logged_in(tenant_b.developer)
    path = reverse("dashboard:invitation_accept", args=[token])

    assert "log in as carol@example.com" in bob.get(path).content.decode()
    assert bob.post(path).status_code == 400
    assert not Membership.objects.filter(organization=tenant_a.organization, developer=tenant_b.developer).exists()


def test_an_unknown_invitation_link_says_so(alice_client: Client) -> None:
    response = alice_client.get(reverse("dashboard:invitation_accept", args=["not-a-token"]))

    assert response.status_code == 404
    assert "invalid, expired or already used" in response.content.decode()


def test_inviting_an_existing_member_is_a_form_error(alice_client: Client, tenant_a: Tenant) -> None:
    response = alice_client.post(
        reverse("dashboard:member_invite", args=[tenant_a.organization.pk]),
        {"email": "alice@example.com", "role": "developer"},
    )

    assert response.status_code == 200
    assert "already a member" in response.context["form"].errors["email"][0]
    assert not Invitation.objects.filter(organization=tenant_a.organization).exists()


def test_an_owner_changes_a_role_and_removes_a_member(
    alice_client: Client, tenant_a: Tenant, add_member: AddMember
) -> None:
    membership = add_member(tenant_a, "dev", "developer")
    org = tenant_a.organization.pk

    alice_client.post(reverse("dashboard:member_change_role", args=[org, membership.pk]), {"role": "admin"})
    membership.refresh_from_db()
    assert membership.role == "admin"

    response = alice_client.post(reverse("dashboard:member_remove", args=[org, membership.pk]))
    assert response.url == members_url(tenant_a)
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_an_admin_cannot_grant_the_owner_role(tenant_a: Tenant, add_member: AddMember) -> None:
    admin = logged_in(add_member(tenant_a, "ada", "admin").developer)
    other = add_member(tenant_a, "dev", "developer")
    org = tenant_a.organization.pk

    page = admin.get(members_url(tenant_a)).content.decode()
    assert '<option value="owner"' not in page
    response = admin.post(reverse("dashboard:member_change_role", args=[org, other.pk]), {"role": "owner"})
    assert response.status_code == 403
    other.refresh_from_db()
    assert other.role == "developer"


def test_the_last_owner_cannot_leave(alice_client: Client, tenant_a: Tenant) -> None:
    own = Membership.objects.get(organization=tenant_a.organization, developer=tenant_a.developer)

    response = alice_client.post(
        reverse("dashboard:member_remove", args=[tenant_a.organization.pk, own.pk]), follow=True
    )

    assert "at least one owner" in response.content.decode()
    assert Membership.objects.filter(pk=own.pk).exists()


def test_a_member_may_leave(tenant_a: Tenant, add_member: AddMember) -> None:
    membership = add_member(tenant_a, "vera", "viewer")
    viewer = logged_in(membership.developer)

    response = viewer.post(reverse("dashboard:member_remove", args=[tenant_a.organization.pk, membership.pk]))

    assert response.url == reverse("dashboard:home")
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_revoking_an_invitation_kills_its_link(alice_client: Client, tenant_a: Tenant) -> None:
    invitation, token = invitation_create(
        actor=tenant_a.developer, organization=tenant_a.organization, email="carol@example.com", role="developer"
    )

    alice_client.post(reverse("dashboard:invitation_revoke", args=[tenant_a.organization.pk, invitation.pk]))

    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    assert alice_client.get(reverse("dashboard:invitation_accept", args=[token])).status_code == 404


def test_a_developer_sees_no_member_management(tenant_a: Tenant, add_member: AddMember) -> None:
    membership = add_member(tenant_a, "dev", "developer")
    invitation, _token = invitation_create(
        actor=tenant_a.developer, organization=tenant_a.organization, email="carol@example.com", role="viewer"
    )
    developer = logged_in(membership.developer)
    org = tenant_a.organization.pk
    owner = Membership.objects.get(organization=tenant_a.organization, developer=tenant_a.developer)

    page = developer.get(members_url(tenant_a)).content.decode()
    assert "carol@example.com" in page, "open invitations are visible to every member"
    assert reverse("dashboard:member_invite", args=[org]) not in page
    assert reverse("dashboard:invitation_revoke", args=[org, invitation.pk]) not in page
    assert reverse("dashboard:member_change_role", args=[org, owner.pk]) not in page
    assert reverse("dashboard:member_remove", args=[org, owner.pk]) not in page
    assert reverse("dashboard:member_remove", args=[org, membership.pk]) in page, "but may leave"

    assert developer.post(reverse("dashboard:invitation_revoke", args=[org, invitation.pk])).status_code == 403
    assert developer.post(reverse("dashboard:member_remove", args=[org, owner.pk])).status_code == 403
    invite = developer.post(
        reverse("dashboard:member_invite", args=[org]), {"email": "x@example.com", "role": "viewer"}
    )
    assert invite.status_code == 403
    assert Membership.objects.filter(pk=owner.pk).exists()
    invitation.refresh_from_db()
    assert invitation.revoked_at is None
    assert not Invitation.objects.filter(email="x@example.com").exists()
