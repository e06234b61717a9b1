"""The access tokens page: a scoped token is created, shown once, works on the API within its scope, and is revoked."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from tenants.models import PersonalAccessToken
from tenants.services import access_token_create
from tests.conftest import Tenant

pytestmark = pytest.mark.django_db

TOKENS = "/account/tokens/"


def test_a_read_only_token_for_one_organization_is_shown_once_and_works(alice_client: Client, tenant_a: Tenant) -> None:
    page = alice_client.post(
        TOKENS, {"name": "ci", "access": "read", "organization": str(tenant_a.organization.pk)}
    ).content.decode()

    match = re.search(r'value="(hgr_[^"]+)" id="new-token"', page)
    assert match
    token = PersonalAccessToken.objects.get(name="ci")
    assert (token.read_only, token.organization_id) == (True, tenant_a.organization.pk)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {match.group(1)}")
    assert api.get(f"/api/v1/organizations/{tenant_a.organization.pk}").status_code == 200
    assert api.delete(f"/api/v1/organizations/{tenant_a.organization.pk}/apps/{tenant_a.app.pk}").status_code == 403
    again = alice_client.get(TOKENS).content.decode()
    assert match.group(1) not in again, "shown once"
    assert "Read-only · " in again


def test_revoking_a_token_stops_it(alice_client: Client, tenant_a: Tenant) -> None:
    token, plain = access_token_create(developer=tenant_a.developer, name="laptop")

    alice_client.post(reverse("dashboard:access_token_revoke", args=[token.pk]))

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    assert api.get("/api/v1/me").status_code == 401
    assert not PersonalAccessToken.objects.filter(pk=token.pk).exists()


def test_a_bad_name_is_a_clear_error(alice_client: Client) -> None:
    response = alice_client.post(TOKENS, {"name": "  "})

    assert response.status_code == 400
    assert "Give the token a name." in response.content.decode()


def test_alice_can_neither_revoke_nor_see_bobs_tokens(alice_client: Client, tenant_b: Tenant) -> None:
    token, _plain = access_token_create(developer=tenant_b.developer, name="bobs-secret-token")

    assert "bobs-secret-token" not in alice_client.get(TOKENS).content.decode()
    assert alice_client.post(reverse("dashboard:access_token_revoke", args=[token.pk])).status_code == 404
    assert PersonalAccessToken.objects.filter(pk=token.pk).exists()


def test_a_token_cannot_be_scoped_to_bobs_organization(alice_client: Client, tenant_b: Tenant) -> None:
    response = alice_client.post(TOKENS, {"name": "sneaky", "organization": str(tenant_b.organization.pk)})

    assert response.status_code == 400
    assert not PersonalAccessToken.objects.filter(name="sneaky").exists()
