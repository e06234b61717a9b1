"""The management API of an app's provider credentials: write-only secrets, validation, roles, isolation."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from hangar.messaging.models import LoggedMessage, ProviderCredential
from hangar.secretbox import decrypt_secret
from tenants.models import AuditEvent
from tests.conftest import Tenant
from tests.messaging.credential_samples import sample_configs
from tests.tenants.conftest import API, Caller, app_url

pytestmark = pytest.mark.django_db

SAMPLES = sample_configs()


def providers_url(tenant: Tenant, kind: str = "") -> str:
    return app_url(tenant, f"/messaging/providers{'/' + kind if kind else ''}")


@pytest.mark.parametrize("kind", list(SAMPLES))
def test_credentials_are_stored_encrypted_and_only_a_summary_comes_back(
    kind: str, tenant_a: Tenant, alice: APIClient
) -> None:
    config, secrets = SAMPLES[kind]
    put = alice.put(providers_url(tenant_a, kind), {"config": config}, format="json")
    assert put.status_code == 200, put.content
    assert put.json()["configured"] is True
    assert put.json()["updated_by"] == tenant_a.developer.email

    answers = [
        put.content, alice.get(providers_url(tenant_a, kind)).content, alice.get(providers_url(tenant_a)).content,
        alice.get(f"{API}/organizations/{tenant_a.organization.pk}/audit-log").content,
        alice.get(app_url(tenant_a)).content, alice.get(app_url(tenant_a, "/keys")).content,
    ]  # fmt: skip
    for answer in answers:
        for secret in secrets:
            assert secret.encode() not in answer
    stored = ProviderCredential.objects.get(app=tenant_a.app, kind=kind)
    assert all(secret not in stored.ciphertext and secret not in json.dumps(stored.summary) for secret in secrets)
    assert all(secret in decrypt_secret(stored.ciphertext) for secret in secrets)


def test_the_summary_says_what_is_configured(tenant_a: Tenant, alice: APIClient) -> None:
    alice.put(providers_url(tenant_a, "fcm"), {"config": SAMPLES["fcm"][0]}, format="json")
    alice.put(providers_url(tenant_a, "apns"), {"config": SAMPLES["apns"][0]}, format="json")
    rows = {row["kind"]: row for row in alice.get(providers_url(tenant_a)).json()}
    assert set(rows) == {"fcm", "apns", "webpush", "twilio", "sns", "ses", "smtp"}
    assert rows["fcm"]["summary"] == {
        "project_id": "my-project",
        "client_email": "fcm@my-project.iam.gserviceaccount.com",
    }
    assert rows["apns"]["summary"] == {
        "key_id": "ABC123DEFG",
        "team_id": "TEAM123456",
        "topic": "com.example.app",
        "production": True,
    }
    assert rows["twilio"] == {
        "kind": "twilio",
        "configured": False,
        "summary": {},
        "updated_at": None,
        "updated_by": "",
    }


def test_replacing_credentials_bumps_the_version_and_deleting_forgets_them(tenant_a: Tenant, alice: APIClient) -> None:
    for _ in range(2):
        assert (
            alice.put(providers_url(tenant_a, "twilio"), {"config": SAMPLES["twilio"][0]}, format="json").status_code
            == 200
        )
    assert ProviderCredential.objects.get(app=tenant_a.app, kind="twilio").version == 2
    assert alice.delete(providers_url(tenant_a, "twilio")).status_code == 204
    assert not ProviderCredential.objects.filter(app=tenant_a.app).exists()
    assert alice.delete(providers_url(tenant_a, "twilio")).status_code == 404
    actions = list(AuditEvent.objects.filter(organization=tenant_a.organization, action__startswith="messaging.")
                   .order_by("pk").values_list("action", "details"))  # fmt: skip
    assert [a for a, _ in actions] == ["messaging.provider_set", "messaging.provider_set", "messaging.provider_delete"]
    assert actions[0][1]["kind"] == "twilio"


BAD_CONFIGS: list[tuple[str, Any, str]] = [
    ("fcm", {"service_account": "{not json"}, "service_account"),
    ("fcm", {"service_account": {"project_id": "p", "client_email": "e", "private_key": "nope"}}, "service_account"),
    (
        "fcm",
        {"service_account": {**json.loads(SAMPLES["fcm"][0]["service_account"]), "token_uri": "file:///etc/passwd"}},
        "token_uri",
    ),
    ("apns", {**SAMPLES["apns"][0], "key": SAMPLES["fcm"][0]["service_account"]}, "key"),
    ("apns", {**SAMPLES["apns"][0], "key_id": "short"}, "key_id"),
    ("apns", {**SAMPLES["apns"][0], "production": "yes"}, "production"),
    ("webpush", {**SAMPLES["webpush"][0], "subject": "ops@example.com"}, "subject"),
    ("webpush", {"private_key": "AAAA", "subject": "mailto:x@y.z"}, "private_key"),
    ("twilio", {**SAMPLES["twilio"][0], "account_sid": "AC123"}, "account_sid"),
    ("twilio", {**SAMPLES["twilio"][0], "sender": ""}, "sender"),
    ("sns", {**SAMPLES["sns"][0], "endpoint_url": "http://169.254.169.254/"}, "endpoint_url"),
    ("ses", {**SAMPLES["ses"][0], "region": "mars"}, "region"),
    ("smtp", {**SAMPLES["smtp"][0], "port": 0}, "port"),
    ("smtp", {**SAMPLES["smtp"][0], "host": "evil host\r\n"}, "host"),
]


@pytest.mark.parametrize(("kind", "config", "field"), BAD_CONFIGS)
def test_an_unusable_config_is_a_400_naming_the_field_and_nothing_is_stored(
    kind: str, config: Any, field: str, tenant_a: Tenant, alice: APIClient
) -> None:
    response = alice.put(providers_url(tenant_a, kind), {"config": config}, format="json")
    assert response.status_code == 400, response.content
    assert field in response.content.decode()
    assert not ProviderCredential.objects.filter(app=tenant_a.app).exists()


@pytest.mark.parametrize("body", [{}, {"config": "text"}, {"config": [1]}, [], "x"])
def test_a_body_without_a_config_object_is_a_400(body: Any, tenant_a: Tenant, alice: APIClient) -> None:
    assert alice.put(providers_url(tenant_a, "smtp"), body, format="json").status_code == 400


def test_an_unknown_kind_is_not_found(tenant_a: Tenant, alice: APIClient) -> None:
    assert alice.put(providers_url(tenant_a, "pigeon"), {"config": {}}, format="json").status_code == 404
    assert alice.get(providers_url(tenant_a, "pigeon")).status_code == 404


def test_a_developer_sees_the_summary_but_cannot_change_credentials(
    tenant_a: Tenant, alice: APIClient, member_of: Callable[[str], Caller]
) -> None:
    alice.put(providers_url(tenant_a, "smtp"), {"config": SAMPLES["smtp"][0]}, format="json")
    developer = member_of("developer")
    assert developer.client.get(providers_url(tenant_a, "smtp")).json()["summary"]["host"] == "smtp.example.com"
    assert (
        developer.client.put(providers_url(tenant_a, "smtp"), {"config": SAMPLES["smtp"][0]}, format="json").status_code
        == 403
    )
    assert developer.client.delete(providers_url(tenant_a, "smtp")).status_code == 403
    assert ProviderCredential.objects.get(app=tenant_a.app, kind="smtp").version == 1


def test_a_viewer_cannot_read_the_log_providers_records(tenant_a: Tenant, member_of: Callable[[str], Caller]) -> None:
    LoggedMessage.objects.create(app=tenant_a.app, channel="sms", recipient="+14155550100", content={"body": "code 1"})
    assert member_of("viewer").client.get(app_url(tenant_a, "/messaging/log")).status_code == 403
    rows = member_of("developer", "dev2").client.get(app_url(tenant_a, "/messaging/log")).json()
    assert [(r["channel"], r["recipient"]) for r in rows] == [("sms", "+14155550100")]


def test_another_organization_can_neither_read_nor_change_an_apps_providers(
    tenant_a: Tenant, tenant_b: Tenant, alice: APIClient, bob: APIClient
) -> None:
    alice.put(providers_url(tenant_a, "smtp"), {"config": SAMPLES["smtp"][0]}, format="json")
    LoggedMessage.objects.create(app=tenant_a.app, channel="email", recipient="user@example.com", content={})
    foreign_app = f"{API}/organizations/{tenant_b.organization.pk}/apps/{tenant_a.app.pk}"  # bob's org, alice's app
    for url in (providers_url(tenant_a, "smtp"), f"{foreign_app}/messaging/providers/smtp"):
        assert bob.get(url).status_code == 404
        assert bob.put(url, {"config": SAMPLES["twilio"][0]}, format="json").status_code == 404
        assert bob.delete(url).status_code == 404
    for url in (providers_url(tenant_a), app_url(tenant_a, "/messaging/log"), f"{foreign_app}/messaging/log"):
        assert bob.get(url).status_code == 404
    assert ProviderCredential.objects.get(app=tenant_a.app, kind="smtp").version == 1
    assert not ProviderCredential.objects.filter(app=tenant_b.app).exists()


def test_anonymous_callers_and_parse_keys_get_nothing(tenant_a: Tenant) -> None:
    anonymous = APIClient()
    assert anonymous.get(providers_url(tenant_a)).status_code == 401
    assert (
        anonymous.put(providers_url(tenant_a, "smtp"), {"config": SAMPLES["smtp"][0]}, format="json").status_code == 401
    )
    with_master_key = APIClient()
    with_master_key.credentials(
        **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in tenant_a.parse_headers("master").items()}
    )
    assert with_master_key.get(providers_url(tenant_a)).status_code == 401
    assert not ProviderCredential.objects.exists()
