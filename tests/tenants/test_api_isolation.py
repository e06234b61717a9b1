"""Cross-tenant denial: alice, authenticated with her own token, reaches nothing of bob's.

Every endpoint that takes an id is tried with bob's ids. The answer is always 404 with
the same body as for an id that does not exist (never 403: existence must not leak),
and bob's organization is exactly as it was afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.core import mail
from rest_framework.test import APIClient

from hangar.datastore.partitions import partitions_list
from tenants.models import Membership, PersonalAccessToken
from tenants.services import access_token_create, developer_sign_up, invitation_accept, invitation_create
from tests.conftest import PASSWORD, Tenant
from tests.tenants.conftest import API, tenant_state

pytestmark = pytest.mark.django_db

MISSING = 987654321


@dataclass
class BobsWorld:
    tenant: Tenant
    membership_id: int
    invitation_id: int
    invitation_token: str
    token_id: int

    def ids(self) -> dict[str, int]:
        return {
            "org": self.tenant.organization.pk,
            "app": self.tenant.app.pk,
            "member": self.membership_id,
            "invitation": self.invitation_id,
        }


@pytest.fixture
def bobs_world(tenant_b: Tenant) -> BobsWorld:
    """Bob's organization with a second member, an open invitation and a token of bob's."""
    bob, org = tenant_b.developer, tenant_b.organization
    carol = developer_sign_up(email="carol@example.com", password=PASSWORD)
    _, token = invitation_create(actor=bob, organization=org, email="carol@example.com", role="developer")
    membership = invitation_accept(developer=carol, token=token)
    invitation, invitation_token = invitation_create(
        actor=bob, organization=org, email="dora@example.com", role="admin"
    )
    bobs_token, _ = access_token_create(developer=bob, name="bob's laptop")
    return BobsWorld(tenant_b, membership.pk, invitation.pk, invitation_token, bobs_token.pk)


ORG = "/organizations/{org}"
APP = ORG + "/apps/{app}"

# One case per endpoint that addresses an organization, app, member or invitation by id.
ENDPOINTS = [
    pytest.param("get", ORG, None, id="organization-get"),
    pytest.param("patch", ORG, {"name": "Pwned"}, id="organization-rename"),
    pytest.param("patch", ORG, {"name": ""}, id="organization-rename-invalid-body"),
    pytest.param("get", ORG + "/members", None, id="member-list"),
    pytest.param("patch", ORG + "/members/{member}", {"role": "viewer"}, id="member-change-role"),
    pytest.param("delete", ORG + "/members/{member}", None, id="member-remove"),
    pytest.param("get", ORG + "/invitations", None, id="invitation-list"),
    pytest.param("post", ORG + "/invitations", {"email": "eve@example.com", "role": "owner"}, id="invitation-create"),
    pytest.param("delete", ORG + "/invitations/{invitation}", None, id="invitation-revoke"),
    pytest.param("get", ORG + "/apps", None, id="app-list"),
    pytest.param("post", ORG + "/apps", {"name": "Squatter"}, id="app-create"),
    pytest.param("get", APP, None, id="app-get"),
    pytest.param("patch", APP, {"name": "Pwned"}, id="app-rename"),
    pytest.param("delete", APP, {"confirm_name": "bob-app"}, id="app-delete"),
    pytest.param("delete", APP, 5, id="app-delete-invalid-body"),
    pytest.param("get", APP + "/keys?include_master=1", None, id="app-keys"),
    pytest.param("post", APP + "/keys/master/rotate", None, id="app-key-rotate"),
    pytest.param(
        "put", APP + "/client-class-creation", {"allow_client_class_creation": True}, id="app-client-class-creation"
    ),
    pytest.param("get", ORG + "/audit-log", None, id="audit-log"),
]


@pytest.mark.parametrize(("method", "path", "payload"), ENDPOINTS)
def test_alice_cannot_reach_bobs_organization(
    alice: APIClient, bobs_world: BobsWorld, django_capture_on_commit_callbacks, method, path, payload
):
    before = tenant_state(bobs_world.tenant.organization)
    with django_capture_on_commit_callbacks(execute=True):
        response = getattr(alice, method)(API + path.format(**bobs_world.ids()), payload, format="json")
        missing = getattr(alice, method)(
            API + path.format(org=MISSING, app=MISSING, member=MISSING, invitation=MISSING), payload, format="json"
        )
    assert response.status_code == 404
    assert response.json() == missing.json() == {"code": "not_found", "detail": "Organization not found."}
    assert tenant_state(bobs_world.tenant.organization) == before
    assert partitions_list(app_pk=bobs_world.tenant.app.pk)
    assert mail.outbox == []


# Alice's own organization in the URL, with an id of bob's further down the path.
NESTED = [
    pytest.param("get", "/apps/{app}", None, "App not found.", id="app-get"),
    pytest.param("patch", "/apps/{app}", {"name": "Pwned"}, "App not found.", id="app-rename"),
    pytest.param("delete", "/apps/{app}", {"confirm_name": "bob-app"}, "App not found.", id="app-delete"),
    pytest.param("get", "/apps/{app}/keys", None, "App not found.", id="app-keys"),
    pytest.param("post", "/apps/{app}/keys/rest/rotate", None, "App not found.", id="app-key-rotate"),
    pytest.param(
        "put",
        "/apps/{app}/client-class-creation",
        {"allow_client_class_creation": True},
        "App not found.",
        id="app-client-class-creation",
    ),
    pytest.param("patch", "/members/{member}", {"role": "viewer"}, "Member not found.", id="member-change-role"),
    pytest.param("delete", "/members/{member}", None, "Member not found.", id="member-remove"),
    pytest.param("delete", "/invitations/{invitation}", None, "Invitation not found.", id="invitation-revoke"),
]


@pytest.mark.parametrize(("method", "suffix", "payload", "detail"), NESTED)
def test_alice_cannot_reach_bobs_objects_through_her_own_organization(
    alice: APIClient,
    tenant_a: Tenant,
    bobs_world: BobsWorld,
    django_capture_on_commit_callbacks,
    method,
    suffix,
    payload,
    detail,
):
    before = tenant_state(bobs_world.tenant.organization)
    url = f"{API}/organizations/{tenant_a.organization.pk}" + suffix.format(**bobs_world.ids())
    with django_capture_on_commit_callbacks(execute=True):
        response = getattr(alice, method)(url, payload, format="json")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": detail}
    assert tenant_state(bobs_world.tenant.organization) == before


def test_alice_cannot_revoke_bobs_token(alice: APIClient, bobs_world: BobsWorld):
    response = alice.delete(f"{API}/tokens/{bobs_world.token_id}")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "Token not found."}
    assert PersonalAccessToken.objects.filter(pk=bobs_world.token_id).exists()


def test_alice_cannot_accept_an_invitation_sent_to_someone_in_bobs_organization(
    alice: APIClient, tenant_a: Tenant, bobs_world: BobsWorld
):
    before = tenant_state(bobs_world.tenant.organization)
    response = alice.post(f"{API}/invitations/accept", {"token": bobs_world.invitation_token}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invitation_invalid"
    assert tenant_state(bobs_world.tenant.organization) == before
    assert not Membership.objects.filter(organization=bobs_world.tenant.organization, developer=tenant_a.developer)


def test_lists_show_alice_only_her_own(alice: APIClient, tenant_a: Tenant, bobs_world: BobsWorld):
    assert [org["id"] for org in alice.get(f"{API}/organizations").json()] == [tenant_a.organization.pk]
    assert "bob's laptop" not in {token["name"] for token in alice.get(f"{API}/tokens").json()}
