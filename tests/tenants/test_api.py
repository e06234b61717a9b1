"""The management API as a whole: authentication, the error shape, the OpenAPI document."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tenants.models import PersonalAccessToken
from tenants.services import access_token_create
from tests.conftest import Tenant
from tests.tenants.conftest import API, org_url

pytestmark = pytest.mark.django_db


def bearer(plain: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    return client


def test_unauthenticated_requests_are_refused(tenant_a: Tenant):
    client = APIClient()
    for path in ("/me", "/tokens", "/organizations", f"/organizations/{tenant_a.organization.pk}/apps"):
        response = client.get(API + path)
        assert response.status_code == 401, path
        assert response.json()["code"] == "not_authenticated"
        assert response["WWW-Authenticate"] == "Bearer"


def test_a_bearer_token_authenticates_and_records_its_use(tenant_a: Tenant):
    token, plain = access_token_create(developer=tenant_a.developer, name="cli")
    response = bearer(plain).get(f"{API}/me")
    assert response.status_code == 200
    assert response.json() == {"id": tenant_a.developer.pk, "email": "alice@example.com", "name": "Alice"}
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_the_token_keyword_is_accepted_too(tenant_a: Tenant):
    _, plain = access_token_create(developer=tenant_a.developer, name="cli")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {plain}")
    assert client.get(f"{API}/me").status_code == 200


def test_an_expired_token_is_rejected(tenant_a: Tenant):
    token, plain = access_token_create(developer=tenant_a.developer, name="old", expires_in_days=1)
    PersonalAccessToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = bearer(plain).get(f"{API}/me")
    assert response.status_code == 401
    assert response.json() == {"code": "authentication_failed", "detail": "Invalid or expired access token."}


def test_a_revoked_token_is_rejected(tenant_a: Tenant):
    token, plain = access_token_create(developer=tenant_a.developer, name="soon revoked")
    client = bearer(plain)
    assert client.delete(f"{API}/tokens/{token.pk}").status_code == 204
    assert client.get(f"{API}/me").status_code == 401


def test_an_unknown_token_is_rejected(tenant_a: Tenant):
    assert bearer("hgr_not-a-real-token").get(f"{API}/me").status_code == 401


def test_a_deactivated_developer_token_is_rejected(tenant_a: Tenant):
    _, plain = access_token_create(developer=tenant_a.developer, name="cli")
    tenant_a.developer.is_active = False
    tenant_a.developer.save(update_fields=["is_active"])
    assert bearer(plain).get(f"{API}/me").status_code == 401


def test_a_dashboard_session_authenticates_but_must_send_the_csrf_token(tenant_a: Tenant):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(tenant_a.developer)
    assert client.get(f"{API}/me").json()["email"] == "alice@example.com"
    response = client.post(f"{API}/organizations", {"name": "Forged"}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_domain_errors_carry_their_code_and_field(alice: APIClient, tenant_a: Tenant):
    response = alice.patch(org_url(tenant_a), {"name": "x" * 101}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid",
        "detail": "name: Ensure this field has no more than 100 characters.",
        "field": "name",
        "errors": {"name": ["Ensure this field has no more than 100 characters."]},
    }
    response = alice.post(f"{API}/invitations/accept", {"token": "nope"}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "code": "invitation_invalid",
        "detail": "This invitation link is invalid, expired or already used.",
    }


def test_malformed_bodies_are_400_not_500(alice: APIClient, tenant_a: Tenant):
    broken = alice.post(f"{API}/organizations", "{not json", content_type="application/json")
    assert broken.status_code == 400
    assert broken.json()["code"] == "parse_error"
    array = alice.post(f"{API}/organizations", [1, 2], format="json")
    assert array.status_code == 400
    assert array.json()["code"] == "invalid"
    wrong_type = alice.post(f"{API}/tokens", {"name": "t", "expires_in_days": "soon"}, format="json")
    assert (wrong_type.status_code, wrong_type.json()["field"]) == (400, "expires_in_days")


def test_ids_out_of_range_are_404_not_500(alice: APIClient):
    huge = "9" * 30
    for path in (f"/organizations/{huge}", f"/organizations/{huge}/apps/{huge}", f"/tokens/{huge}"):
        method = alice.delete if path.startswith("/tokens") else alice.get
        assert method(API + path).status_code == 404, path


def test_method_not_allowed_uses_the_error_shape(alice: APIClient):
    response = alice.put(f"{API}/me", {}, format="json")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_openapi_document_lists_every_endpoint(alice: APIClient):
    response = alice.get(f"{API}/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    document = response.json()
    assert set(document["paths"]) >= {
        "/api/v1/me",
        "/api/v1/auth/token",
        "/api/v1/tokens",
        "/api/v1/tokens/{token_id}",
        "/api/v1/organizations",
        "/api/v1/organizations/{org_id}",
        "/api/v1/organizations/{org_id}/members",
        "/api/v1/organizations/{org_id}/members/{membership_id}",
        "/api/v1/organizations/{org_id}/invitations",
        "/api/v1/organizations/{org_id}/invitations/{invitation_id}",
        "/api/v1/invitations/accept",
        "/api/v1/organizations/{org_id}/apps",
        "/api/v1/organizations/{org_id}/apps/{app_id}",
        "/api/v1/organizations/{org_id}/apps/{app_id}/keys",
        "/api/v1/organizations/{org_id}/apps/{app_id}/keys/{kind}/rotate",
        "/api/v1/organizations/{org_id}/audit-log",
    }
    assert document["components"]["securitySchemes"]["accessToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A personal access token (hgr_...).",
    }
    created = document["paths"]["/api/v1/organizations/{org_id}/apps"]["post"]["responses"]["201"]
    assert created["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/AppCreated"}
    invitation = document["components"]["schemas"]["Invitation"]["properties"]
    assert "token" not in invitation


def test_openapi_document_generates_without_warnings():
    """Warnings from drf-spectacular mean a wrong or missing schema somewhere."""
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("spectacular", "--fail-on-warn", "--validate", stdout=out)
    assert "/api/v1/organizations/{org_id}/apps:" in out.getvalue()
