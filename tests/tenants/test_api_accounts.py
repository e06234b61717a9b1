"""/me, personal access tokens and the email + password exchange for a CLI."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from tenants.models import AuditEvent, PersonalAccessToken
from tests.conftest import PASSWORD, Tenant
from tests.tenants.conftest import API

pytestmark = pytest.mark.django_db


def test_me_is_the_authenticated_developer(alice: APIClient, tenant_a: Tenant):
    assert alice.get(f"{API}/me").json() == {"id": tenant_a.developer.pk, "email": "alice@example.com", "name": "Alice"}


def test_creating_a_token_shows_it_once(alice: APIClient, tenant_a: Tenant):
    response = alice.post(f"{API}/tokens", {"name": "laptop", "expires_in_days": 30}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["token"].startswith("hgr_")
    assert body["prefix"] == body["token"][:12]
    assert body["name"] == "laptop"
    assert body["expires_at"] is not None
    listed = alice.get(f"{API}/tokens").json()
    assert {t["name"] for t in listed} == {"tests", "laptop"}
    for token in listed:
        assert set(token) == {
            "id",
            "name",
            "prefix",
            "created_at",
            "last_used_at",
            "expires_at",
            "read_only",
            "organization_id",
        }
    assert body["token"] not in str(listed)
    # The new token works on its own.
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {body['token']}")
    assert client.get(f"{API}/me").json()["email"] == "alice@example.com"
    assert AuditEvent.objects.filter(action="access_token.create", target_name="laptop").exists()


def test_a_token_without_expiry_gets_the_default_lifetime(alice: APIClient):
    """Changed with the token-expiry fix: a token asked for without an expiry used to never expire."""
    body = alice.post(f"{API}/tokens", {"name": "ci"}, format="json").json()
    lifetime = parse_datetime(body["expires_at"]) - timezone.now()
    assert timedelta(days=89, hours=23) < lifetime <= timedelta(days=90)


@pytest.mark.parametrize(
    ("payload", "field"),
    [({"name": "  "}, "name"), ({"name": "x", "expires_in_days": 0}, "expires_in_days"), ({}, "name")],
)
def test_invalid_token_requests_are_400(alice: APIClient, payload, field):
    response = alice.post(f"{API}/tokens", payload, format="json")
    assert response.status_code == 400
    assert response.json()["field"] == field


def test_a_token_name_longer_than_the_column_is_400(alice: APIClient):
    response = alice.post(f"{API}/tokens", {"name": "n" * 101}, format="json")
    assert (response.status_code, response.json()["field"]) == (400, "name")


def test_revoking_a_token(alice: APIClient, tenant_a: Tenant):
    token_id = alice.post(f"{API}/tokens", {"name": "temp"}, format="json").json()["id"]
    assert alice.delete(f"{API}/tokens/{token_id}").status_code == 204
    assert not PersonalAccessToken.objects.filter(pk=token_id).exists()
    assert alice.delete(f"{API}/tokens/{token_id}").status_code == 404


def test_exchanging_email_and_password_for_a_token(tenant_a: Tenant):
    client = APIClient()
    response = client.post(
        f"{API}/auth/token", {"email": "alice@EXAMPLE.com", "password": PASSWORD, "name": "cli"}, format="json"
    )
    assert response.status_code == 201
    plain = response.json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    assert client.get(f"{API}/me").json()["id"] == tenant_a.developer.pk


@pytest.mark.parametrize(
    ("email", "password"),
    [("alice@example.com", "wrong-password-123"), ("nobody@example.com", PASSWORD)],
)
def test_wrong_credentials_get_one_generic_answer(tenant_a: Tenant, email, password):
    response = APIClient().post(
        f"{API}/auth/token", {"email": email, "password": password, "name": "cli"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"code": "invalid", "detail": "Invalid email or password.", "field": None}
    assert not PersonalAccessToken.objects.exists()


def test_a_deactivated_developer_cannot_get_a_token(tenant_a: Tenant):
    tenant_a.developer.is_active = False
    tenant_a.developer.save(update_fields=["is_active"])
    response = APIClient().post(
        f"{API}/auth/token", {"email": "alice@example.com", "password": PASSWORD, "name": "cli"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["detail"] == "Invalid email or password."


def test_token_exchange_ignores_a_session_cookie_and_its_csrf_check(tenant_a: Tenant):
    """A browser with a dashboard session can still call it: the password is the credential, not the cookie."""
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(tenant_a.developer)
    response = client.post(
        f"{API}/auth/token", {"email": "alice@example.com", "password": PASSWORD, "name": "cli"}, format="json"
    )
    assert response.status_code == 201


def test_token_exchange_validates_its_input(tenant_a: Tenant):
    response = APIClient().post(f"{API}/auth/token", {"email": "not-an-email", "password": "x"}, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"email", "name"}


def test_services_refuse_values_longer_than_their_columns(tenant_a: Tenant):
    """Callers without a serializer (the dashboard, commands) get a 400-type error, not a database error."""
    from tenants.errors import ValidationFailedError
    from tenants.services import access_token_create, invitation_create

    with pytest.raises(ValidationFailedError, match="at most 100"):
        access_token_create(developer=tenant_a.developer, name="n" * 101)
    long_email = "a" * 64 + "@" + ".".join(["b" * 60] * 4) + ".com"
    with pytest.raises(ValidationFailedError, match="at most 254"):
        invitation_create(actor=tenant_a.developer, organization=tenant_a.organization, email=long_email, role="viewer")


def test_token_exchange_matches_the_email_case_insensitively(db):
    from rest_framework.test import APIClient

    from tenants.services import developer_sign_up

    developer_sign_up(email="Mixed.Case@Example.com", password="a-long-test-passphrase-42")
    response = APIClient().post(
        "/api/v1/auth/token",
        {"email": "mixed.case@example.com", "password": "a-long-test-passphrase-42", "name": "cli"},
        format="json",
    )
    assert response.status_code == 201, response.content


def test_token_exchange_is_throttled_per_client(db, settings):
    from django.core.cache import cache
    from rest_framework.test import APIClient

    cache.clear()
    client = APIClient()
    statuses = [
        client.post(
            "/api/v1/auth/token", {"email": "x@example.com", "password": "wrong", "name": "cli"}, format="json"
        ).status_code
        for _ in range(12)
    ]
    cache.clear()
    assert statuses[:10] == [400] * 10
    assert statuses[10:] == [429, 429]
