"""An app's multi-factor sign-in options through the management API: admins set them, validated as Parse Server."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from hangar.identity.models import AuthSettings
from tests.conftest import Tenant
from tests.tenants.conftest import app_url

pytestmark = pytest.mark.django_db


def test_an_admin_turns_mfa_on_and_off(alice: APIClient, tenant_a: Tenant) -> None:
    url = app_url(tenant_a, "/auth/mfa")
    assert alice.get(url).json() == {"options": [], "digits": 6, "period": 30, "algorithm": "SHA1"}
    on = alice.put(url, {"options": ["sms", "TOTP"], "digits": 8, "period": 60, "algorithm": "sha256"}, format="json")
    assert on.json() == {"options": ["TOTP", "SMS"], "digits": 8, "period": 60, "algorithm": "SHA256"}
    row = AuthSettings.objects.get(app=tenant_a.app)
    assert (row.mfa_options, row.mfa_digits, row.mfa_period, row.mfa_algorithm) == (["TOTP", "SMS"], 8, 60, "SHA256")
    assert alice.put(url, {"options": []}, format="json").json()["options"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"options": ["EMAIL"]},
        {"options": ["TOTP"], "digits": 3},
        {"options": ["TOTP"], "digits": 11},
        {"options": ["TOTP"], "period": 5},
        {"options": ["TOTP"], "algorithm": "MD5"},
        {"options": "TOTP"},
    ],
)
def test_bad_options_are_refused(alice: APIClient, tenant_a: Tenant, body: dict[str, Any]) -> None:
    assert alice.put(app_url(tenant_a, "/auth/mfa"), body, format="json").status_code == 400
    assert not AuthSettings.objects.filter(app=tenant_a.app).exists()  # nothing written


def test_only_admins_change_it_and_other_tenants_see_nothing(
    alice: APIClient, bob: APIClient, tenant_a: Tenant, member_of: Any
) -> None:
    url = app_url(tenant_a, "/auth/mfa")
    developer = member_of("developer").client
    assert developer.get(url).status_code == 200
    assert developer.put(url, {"options": ["TOTP"]}, format="json").status_code == 403
    assert bob.get(url).status_code == 404
    assert bob.put(url, {"options": ["TOTP"]}, format="json").status_code == 404
    assert not AuthSettings.objects.filter(app=tenant_a.app).exists()
