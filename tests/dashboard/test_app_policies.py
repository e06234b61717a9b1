"""The Settings page's policies: end-user sign-in (admins), files and the rate limit (developers); viewers see only."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from hangar.files.models import FileSettings
from hangar.identity.models import AuthSettings
from tenants.models import AuditEvent, Plan
from tests.conftest import Tenant
from tests.dashboard.conftest import AddMember, logged_in

pytestmark = pytest.mark.django_db


def url(tenant: Tenant, name: str) -> str:
    return reverse(f"dashboard:{name}", args=[tenant.organization.pk, tenant.app.pk])


AUTH_FORM = {
    "verify_user_emails": "on", "password_min_length": "10", "password_pattern": "[0-9]", "lockout_threshold": "5",
    "lockout_minutes": "15", "session_length_days": "30", "oauth_google": "web.apps.googleusercontent.com ios.apps",
}  # fmt: skip


def test_an_owner_sets_how_end_users_sign_in(alice_client: Client, tenant_a: Tenant) -> None:
    alice_client.post(url(tenant_a, "app_auth_policy"), AUTH_FORM)

    row = AuthSettings.objects.get(app=tenant_a.app)
    assert (row.verify_user_emails, row.password_min_length, row.password_pattern) == (True, 10, "[0-9]")
    assert (row.lockout_threshold, row.lockout_minutes, row.session_length_seconds) == (5, 15, 30 * 86400)
    assert row.allow_anonymous_users is False, "an unticked box turns it off"
    assert row.oauth_providers["google"]["client_ids"] == ["web.apps.googleusercontent.com", "ios.apps"]
    assert AuditEvent.objects.filter(action="app.auth_policy").exists()
    page = alice_client.get(url(tenant_a, "app_settings")).content.decode()
    assert 'value="web.apps.googleusercontent.com ios.apps"' in page


def test_a_bad_password_pattern_is_a_clear_error(alice_client: Client, tenant_a: Tenant) -> None:
    page = alice_client.post(url(tenant_a, "app_auth_policy"), {"password_pattern": "(["}, follow=True)

    assert "not a valid regex" in page.content.decode()
    assert not AuthSettings.objects.filter(app=tenant_a.app).exists()


def test_a_developer_may_not_change_sign_in_but_may_change_files(tenant_a: Tenant, add_member: AddMember) -> None:
    developer = logged_in(add_member(tenant_a, "dev", "developer").developer)

    assert developer.post(url(tenant_a, "app_auth_policy"), AUTH_FORM).status_code == 403
    developer.post(
        url(tenant_a, "app_file_policy"),
        {"max_upload_mb": "5", "allowed_content_types": "image/* application/pdf", "enable_for_authenticated": "on",
         "url_mode": "presigned"},
    )  # fmt: skip

    files = FileSettings.objects.get(app=tenant_a.app)
    assert (files.max_upload_bytes, files.allowed_content_types) == (5 * 1024 * 1024, ["image/*", "application/pdf"])
    assert (files.enable_for_public, files.url_mode) == (False, "presigned")
    assert not AuthSettings.objects.filter(app=tenant_a.app).exists()


def test_a_bad_content_type_is_refused(alice_client: Client, tenant_a: Tenant) -> None:
    page = alice_client.post(url(tenant_a, "app_file_policy"), {"allowed_content_types": "images"}, follow=True)

    assert "Not a content type: images" in page.content.decode()
    assert not FileSettings.objects.filter(app=tenant_a.app).exists()


def test_the_rate_limit_stays_within_the_plan(alice_client: Client, tenant_a: Tenant) -> None:
    tenant_a.organization.plan = Plan.objects.create(name="small", requests_per_second=50)
    tenant_a.organization.save()

    over = alice_client.post(url(tenant_a, "app_rate_limit"), {"requests_per_second": "500"}, follow=True)
    assert "at most 50" in over.content.decode()
    alice_client.post(url(tenant_a, "app_rate_limit"), {"requests_per_second": "20"})
    tenant_a.app.refresh_from_db()
    assert tenant_a.app.rate_limit_rps == 20
    alice_client.post(url(tenant_a, "app_rate_limit"), {"requests_per_second": ""})
    tenant_a.app.refresh_from_db()
    assert tenant_a.app.rate_limit_rps is None


def test_a_viewer_sees_the_policies_and_changes_none(tenant_a: Tenant, add_member: AddMember) -> None:
    viewer = logged_in(add_member(tenant_a, "vera", "viewer").developer)

    page = viewer.get(url(tenant_a, "app_settings")).content.decode()
    assert 'id="auth-policy-summary"' in page
    assert 'id="file-policy-summary"' in page
    assert 'id="rate-summary"' in page
    responses = [
        viewer.post(url(tenant_a, "app_auth_policy"), AUTH_FORM),
        viewer.post(url(tenant_a, "app_file_policy"), {"url_mode": "public"}),
        viewer.post(url(tenant_a, "app_rate_limit"), {"requests_per_second": "1"}),
    ]
    assert [response.status_code for response in responses] == [403, 403, 403]
    assert not FileSettings.objects.filter(app=tenant_a.app).exists()
