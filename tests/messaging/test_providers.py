"""hangar.messaging.providers: the right adapter for an app from its stored credentials, cached per version."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync
from cryptography.hazmat.primitives.asymmetric import ec

from hangar.messaging import providers
from hangar.messaging.adapters.apns import ApnsPushProvider
from hangar.messaging.adapters.base import EmailMessage, OutcomeKind, PushNotification, PushTarget, SmsMessage
from hangar.messaging.adapters.fcm import FcmPushProvider
from hangar.messaging.adapters.log import LogProvider
from hangar.messaging.adapters.smtp import SmtpEmailProvider
from hangar.messaging.adapters.twilio import TwilioSmsProvider
from hangar.messaging.adapters.vapid import private_key_pem, public_key_b64url
from hangar.messaging.adapters.webpush import WebPushProvider
from hangar.messaging.models import LoggedMessage
from hangar.messaging.provider_credentials import provider_credential_delete, provider_credential_set
from tests.conftest import Tenant
from tests.messaging.credential_samples import sample_configs
from tests.messaging.endpoints.apns import ApnsEndpoint
from tests.messaging.endpoints.fcm import FcmEndpoint
from tests.messaging.endpoints.twilio import TwilioEndpoint
from tests.messaging.endpoints.webpush import WebPushEndpoint

pytestmark = pytest.mark.django_db

SAMPLES = sample_configs()
push_provider_for = async_to_sync(providers.push_provider_for)
sms_provider_for = async_to_sync(providers.sms_provider_for)
email_provider_for = async_to_sync(providers.email_provider_for)


def test_without_credentials_every_channel_gets_the_log_provider(tenant_a: Tenant) -> None:
    pk = tenant_a.app.pk
    assert isinstance(push_provider_for(app_pk=pk, device_type="android", push_type="gcm"), LogProvider)
    assert isinstance(push_provider_for(app_pk=pk, device_type="ios", push_type=None), LogProvider)
    assert isinstance(sms_provider_for(app_pk=pk), LogProvider)
    assert isinstance(email_provider_for(app_pk=pk), LogProvider)


def test_device_types_map_to_their_providers(tenant_a: Tenant) -> None:
    app = tenant_a.app
    for kind in ("fcm", "apns", "webpush"):
        provider_credential_set(app=app, kind=kind, raw=SAMPLES[kind][0], actor=None)
    assert isinstance(push_provider_for(app_pk=app.pk, device_type="android", push_type=None), FcmPushProvider)
    assert isinstance(push_provider_for(app_pk=app.pk, device_type="ios", push_type=None), ApnsPushProvider)
    assert isinstance(push_provider_for(app_pk=app.pk, device_type="ios", push_type="fcm"), FcmPushProvider)
    assert isinstance(push_provider_for(app_pk=app.pk, device_type="web", push_type=None), WebPushProvider)
    assert isinstance(push_provider_for(app_pk=app.pk, device_type="win", push_type=None), LogProvider)


def test_a_provider_is_reused_until_its_credentials_change_then_rebuilt(tenant_a: Tenant) -> None:
    app = tenant_a.app
    provider_credential_set(app=app, kind="twilio", raw=SAMPLES["twilio"][0], actor=None)
    first = sms_provider_for(app_pk=app.pk)
    assert isinstance(first, TwilioSmsProvider)
    assert sms_provider_for(app_pk=app.pk) is first
    provider_credential_set(app=app, kind="twilio", raw=SAMPLES["twilio"][0], actor=None)
    second = sms_provider_for(app_pk=app.pk)
    assert isinstance(second, TwilioSmsProvider)
    assert second is not first
    provider_credential_delete(app=app, kind="twilio")
    assert isinstance(sms_provider_for(app_pk=app.pk), LogProvider)


def test_one_apps_credentials_never_serve_another_app(tenant_a: Tenant, tenant_b: Tenant) -> None:
    provider_credential_set(app=tenant_a.app, kind="smtp", raw=SAMPLES["smtp"][0], actor=None)
    assert isinstance(email_provider_for(app_pk=tenant_a.app.pk), SmtpEmailProvider)
    assert isinstance(email_provider_for(app_pk=tenant_b.app.pk), LogProvider)


def test_the_operators_smtp_server_is_the_email_default(tenant_a: Tenant, settings: Any) -> None:
    settings.EMAIL_HOST = "mail.operator.example"
    settings.EMAIL_PORT = 2525
    providers._operator_smtp = None
    try:
        provider = email_provider_for(app_pk=tenant_a.app.pk)
        assert isinstance(provider, SmtpEmailProvider)
        assert provider._host == "mail.operator.example"
    finally:
        providers._operator_smtp = None


def test_the_log_provider_records_each_message_for_its_app_only(tenant_a: Tenant, tenant_b: Tenant) -> None:
    provider = push_provider_for(app_pk=tenant_a.app.pk, device_type="android", push_type=None)
    targets = [PushTarget("i1", "android", "tok1"), PushTarget("i2", "android", "tok2")]
    outcomes = async_to_sync(provider.send_push)(PushNotification(data={"alert": "hi"}, push_id="P1"), targets)
    assert [o.kind for o in outcomes] == [OutcomeKind.SENT, OutcomeKind.SENT]
    async_to_sync(sms_provider_for(app_pk=tenant_a.app.pk).send_sms)(SmsMessage(to="+14155550100", body="code 1"))
    email = EmailMessage(to=["u@example.org"], subject="Hello", text="t")
    async_to_sync(email_provider_for(app_pk=tenant_a.app.pk).send_email)(email)
    rows = list(LoggedMessage.objects.filter(app=tenant_a.app).order_by("id").values_list("channel", "recipient"))
    assert rows == [("push", "tok1"), ("push", "tok2"), ("sms", "+14155550100"), ("email", "u@example.org")]
    assert not LoggedMessage.objects.filter(app=tenant_b.app).exists()


def test_the_log_keeps_only_the_newest_records(tenant_a: Tenant, settings: Any) -> None:
    settings.HANGAR_MESSAGING_LOG_KEEP = 5
    provider = sms_provider_for(app_pk=tenant_a.app.pk)
    for n in range(120):
        async_to_sync(provider.send_sms)(SmsMessage(to="+14155550100", body=f"m{n}"))
    kept = LoggedMessage.objects.filter(app=tenant_a.app)
    assert kept.count() <= 5 + 50  # trimmed every 50 records
    assert kept.order_by("-id").first().content["body"] == "m119"  # type: ignore[union-attr]


def test_stored_fcm_credentials_reach_the_fcm_endpoint(tenant_a: Tenant, fcm: FcmEndpoint) -> None:
    """End to end: a credential as the API stores it, the provider built from it, the local FCM server."""
    provider_credential_set(
        app=tenant_a.app, kind="fcm", raw={"service_account": fcm.service_account(), "base_url": fcm.url}, actor=None
    )
    provider = push_provider_for(app_pk=tenant_a.app.pk, device_type="android", push_type="gcm")
    [outcome] = async_to_sync(provider.send_push)(
        PushNotification(data={"alert": "e2e"}, push_id="P2"), [PushTarget("i", "android", "device-token-e2e")]
    )
    assert outcome.kind is OutcomeKind.SENT
    assert fcm.per_token["device-token-e2e"] == 1


def test_stored_twilio_credentials_reach_the_twilio_endpoint(tenant_a: Tenant, twilio_endpoint: TwilioEndpoint) -> None:
    sid, token = twilio_endpoint.account(sender="+15005550006")
    raw = {"account_sid": sid, "auth_token": token, "sender": "+15005550006", "base_url": twilio_endpoint.url}
    provider_credential_set(app=tenant_a.app, kind="twilio", raw=raw, actor=None)
    outcome = async_to_sync(sms_provider_for(app_pk=tenant_a.app.pk).send_sms)(
        SmsMessage(to="+14155550123", body="hey")
    )
    assert outcome.kind is OutcomeKind.SENT
    assert twilio_endpoint.received[-1]["To"] == "+14155550123"


def test_an_apps_smtp_server_on_an_internal_address_is_refused(tenant_a: Tenant, settings: Any) -> None:
    """SMTP is outside the HTTP egress path, so an app's server is judged by the egress address policy."""
    settings.HANGAR_EGRESS_ALLOW_PRIVATE = []
    raw = {**SAMPLES["smtp"][0], "host": "127.0.0.1", "port": 25}
    provider_credential_set(app=tenant_a.app, kind="smtp", raw=raw, actor=None)
    outcome = async_to_sync(email_provider_for(app_pk=tenant_a.app.pk).send_email)(
        EmailMessage(to=["u@example.org"], subject="s", text="t")
    )
    assert (outcome.kind, outcome.error) == (OutcomeKind.FAILED, "egress: EgressRefusedError")


def test_stored_apns_and_webpush_credentials_reach_their_endpoints(
    tenant_a: Tenant, apns_endpoint: ApnsEndpoint, webpush_endpoint: WebPushEndpoint, settings: Any
) -> None:
    settings.HANGAR_EGRESS_EXTRA_CA_BUNDLE = str(apns_endpoint.ca_path)
    key_id, pem = apns_endpoint.signing_key(team_id="TEAMAPNS01", topic="com.example.stored")
    apns_raw = {"key": pem, "key_id": key_id, "team_id": "TEAMAPNS01", "topic": "com.example.stored",
                "base_url": apns_endpoint.url}  # fmt: skip
    provider_credential_set(app=tenant_a.app, kind="apns", raw=apns_raw, actor=None)
    vapid = ec.generate_private_key(ec.SECP256R1())
    provider_credential_set(
        app=tenant_a.app,
        kind="webpush",
        raw={"private_key": private_key_pem(vapid), "subject": "mailto:a@b.c"},
        actor=None,
    )
    subscription = webpush_endpoint.subscribe(public_key_b64url(vapid))

    ios = push_provider_for(app_pk=tenant_a.app.pk, device_type="ios", push_type=None)
    [sent] = async_to_sync(ios.send_push)(PushNotification(data={"alert": "a"}), [PushTarget("i", "ios", "c" * 64)])
    web = push_provider_for(app_pk=tenant_a.app.pk, device_type="web", push_type=None)
    [delivered] = async_to_sync(web.send_push)(
        PushNotification(data={"alert": "w"}), [PushTarget("w", "web", subscription)]
    )

    assert (sent.kind, delivered.kind) == (OutcomeKind.SENT, OutcomeKind.SENT)
    assert apns_endpoint.per_token["c" * 64] >= 1
    assert apns_endpoint.received[-1].headers["apns-topic"] == "com.example.stored"
    assert webpush_endpoint.received[-1]["payload"]["data"] == {"alert": "w"}
