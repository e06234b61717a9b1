"""The app's Messaging page: providers by role, secrets write-only, the log provider's records."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from hangar.messaging.models import LoggedMessage, ProviderCredential
from tests.conftest import Tenant
from tests.dashboard.conftest import AddMember, logged_in
from tests.messaging.credential_samples import sample_configs

pytestmark = pytest.mark.django_db

SAMPLES = sample_configs()


def _url(tenant: Tenant, name: str, *extra: object) -> str:
    return reverse(f"dashboard:{name}", args=[tenant.organization.pk, tenant.app.pk, *extra])


def test_an_owner_saves_credentials_that_are_never_shown_again(tenant_a: Tenant) -> None:
    client = logged_in(tenant_a.developer)
    assert "Messaging" in client.get(_url(tenant_a, "app_settings")).content.decode()
    account = json.loads(SAMPLES["fcm"][0]["service_account"])
    client.post(_url(tenant_a, "messaging_provider_set", "fcm"), {"service_account": json.dumps(account)})
    smtp = {**SAMPLES["smtp"][0], "port": "2525", "security": "tls"}
    client.post(_url(tenant_a, "messaging_provider_set", "smtp"), smtp)

    page = client.get(_url(tenant_a, "messaging_providers")).content.decode()
    assert "project_id: my-project" in page
    assert "host: smtp.example.com" in page
    assert "port: 2525" in page
    assert account["private_key"].splitlines()[1] not in page
    assert SAMPLES["smtp"][0]["password"] not in page
    assert set(ProviderCredential.objects.filter(app=tenant_a.app).values_list("kind", flat=True)) == {"fcm", "smtp"}


def test_a_bad_config_shows_the_error_and_stores_nothing(tenant_a: Tenant) -> None:
    client = logged_in(tenant_a.developer)
    response = client.post(
        _url(tenant_a, "messaging_provider_set", "apns"), {"key": "not a key", "key_id": "ABC123DEFG", "team_id": "T"},
        follow=True,
    )  # fmt: skip
    assert "key must be the .p8 file" in response.content.decode()
    assert not ProviderCredential.objects.exists()


def test_removing_credentials(tenant_a: Tenant) -> None:
    client = logged_in(tenant_a.developer)
    client.post(_url(tenant_a, "messaging_provider_set", "twilio"), SAMPLES["twilio"][0])
    assert ProviderCredential.objects.filter(app=tenant_a.app, kind="twilio").exists()
    client.post(_url(tenant_a, "messaging_provider_delete", "twilio"))
    assert not ProviderCredential.objects.filter(app=tenant_a.app).exists()


def test_a_developer_sees_providers_and_the_log_but_no_forms(tenant_a: Tenant, add_member: AddMember) -> None:
    LoggedMessage.objects.create(
        app=tenant_a.app, channel="sms", recipient="+14155550100", content={"body": "code 4242"}
    )
    developer = add_member(tenant_a, "dev", "developer")
    client = logged_in(developer.developer)
    page = client.get(_url(tenant_a, "messaging_providers")).content.decode()
    assert "Sent by the log provider" in page
    assert "code 4242" in page
    assert "provider-smtp-form" not in page
    response = client.post(_url(tenant_a, "messaging_provider_set", "smtp"), SAMPLES["smtp"][0])
    assert response.status_code == 403
    assert not ProviderCredential.objects.exists()


def test_a_viewer_does_not_see_the_log_providers_records(tenant_a: Tenant, add_member: AddMember) -> None:
    LoggedMessage.objects.create(
        app=tenant_a.app, channel="sms", recipient="+14155550100", content={"body": "code 4242"}
    )
    viewer = add_member(tenant_a, "viewer", "viewer")
    page = logged_in(viewer.developer).get(_url(tenant_a, "messaging_providers")).content.decode()
    assert "code 4242" not in page
    assert "Sent by the log provider" not in page
