"""SMS and email sends end to end through the app's real providers (hangar.messaging.providers): Twilio
against its local protocol server, and the log provider of an app without credentials."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from hangar.messaging.models import LoggedMessage
from hangar.messaging.provider_credentials import provider_credential_set
from hangar.messaging.sms_email_models import Message
from tests.conftest import Tenant
from tests.messaging.endpoints.twilio import TwilioEndpoint
from tests.tenants.conftest import app_url

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def twilio(tenant_a: Tenant, twilio_endpoint: TwilioEndpoint) -> TwilioEndpoint:
    sid, token = twilio_endpoint.account(sender="+15005550006")
    raw = {"account_sid": sid, "auth_token": token, "sender": "+15005550006", "base_url": twilio_endpoint.url}
    provider_credential_set(app=tenant_a.app, kind="twilio", raw=raw, actor=None)
    return twilio_endpoint


def _sms(client: APIClient, tenant: Tenant, **body: Any) -> Any:
    return client.post(app_url(tenant, "/messaging/sms"), body, format="json")


def test_an_sms_reaches_twilio_once_and_records_its_sid(
    alice: APIClient, tenant_a: Tenant, twilio: TwilioEndpoint
) -> None:
    alice.put(app_url(tenant_a, "/messaging/templates/sms/code"), {"text": "Code {{ code }}"}, format="json")
    answer = _sms(alice, tenant_a, to="+14155550199", template="code", context={"code": "777"})
    assert answer.status_code == 202, answer.json()
    received = [form for form in twilio.received if form["To"] == "+14155550199"]
    assert [(form["Body"], form["From"]) for form in received] == [("Code 777", "+15005550006")]
    message = Message.objects.get(pk=answer.json()["id"])
    assert (message.status, message.provider) == ("sent", "twilio")
    assert message.provider_message_id.startswith("SM")


def test_twilios_refusal_is_recorded(alice: APIClient, tenant_a: Tenant, twilio: TwilioEndpoint) -> None:
    twilio.landlines.add("+14155550111")
    answer = _sms(alice, tenant_a, to="+14155550111", body="hello")
    message = Message.objects.get(pk=answer.json()["id"])
    assert message.status == "failed"
    assert "21614" in message.error


def test_without_credentials_the_log_provider_records_it(alice: APIClient, tenant_a: Tenant) -> None:
    answer = _sms(alice, tenant_a, to="+14155550100", body="logged, not sent")
    message = Message.objects.get(pk=answer.json()["id"])
    assert (message.status, message.provider) == ("sent", "log")
    logged = LoggedMessage.objects.get(app=tenant_a.app)
    assert (logged.channel, logged.recipient) == ("sms", "+14155550100")
