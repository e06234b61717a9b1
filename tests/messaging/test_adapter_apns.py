"""The APNs adapter against the local HTTP/2 TLS server: provider token, headers, aps payload, error reasons."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hangar.messaging.adapters.apns import ApnsPushProvider
from hangar.messaging.adapters.base import OutcomeKind, PushNotification, PushTarget
from tests.messaging.endpoints.apns import ApnsEndpoint

pytestmark = pytest.mark.asyncio

TOKEN_A = "a" * 64
TOKEN_B = "b" * 64


@pytest.fixture
def apns(apns_endpoint: ApnsEndpoint, settings: Any) -> ApnsEndpoint:
    settings.HANGAR_EGRESS_EXTRA_CA_BUNDLE = str(apns_endpoint.ca_path)  # the server's test CA
    apns_endpoint.received.clear()
    apns_endpoint.per_token.clear()
    apns_endpoint.unregistered.clear()
    apns_endpoint.tokens_issued_before_expire = 0.0
    return apns_endpoint


def provider_for(apns: ApnsEndpoint, **kwargs: Any) -> ApnsPushProvider:
    key_id, pem = apns.signing_key(team_id="TEAM123456", topic="com.example.app")
    return ApnsPushProvider(key_pem=pem, key_id=key_id, team_id="TEAM123456", base_url=apns.url, **kwargs)


def ios(token: str, topic: str | None = "com.example.app", badge: int | None = None) -> PushTarget:
    return PushTarget("inst-" + token[:4], "ios", token, app_identifier=topic, badge=badge)


async def test_an_alert_goes_over_http2_with_the_documented_headers_and_aps(apns: ApnsEndpoint) -> None:
    expires = datetime.now(UTC) + timedelta(hours=2)
    data = {"alert": "Hello", "title": "T", "badge": "Increment", "sound": "ping.aiff", "category": "c1",
            "uri": "app://open", "custom": {"n": 1}, "collapse_id": "news"}  # fmt: skip
    notification = PushNotification(data=data, push_id="PUSH1", expiration=expires)
    outcomes = await provider_for(apns).send_push(notification, [ios(TOKEN_A, badge=4), ios(TOKEN_B, badge=9)])

    assert [o.kind for o in outcomes] == [OutcomeKind.SENT, OutcomeKind.SENT]
    assert apns.protocols[-1] == "h2"
    first = next(r for r in apns.received if r.token == TOKEN_A)
    assert first.payload == {
        "aps": {"alert": {"body": "Hello", "title": "T"}, "badge": 4, "sound": "ping.aiff", "category": "c1"},
        "uri": "app://open", "custom": {"n": 1},
    }  # fmt: skip
    assert first.headers["apns-topic"] == "com.example.app"
    assert first.headers["apns-push-type"] == "alert"
    assert first.headers["apns-priority"] == "10"
    assert first.headers["apns-expiration"] == str(int(expires.timestamp()))
    assert first.headers["apns-collapse-id"] == "news"
    assert outcomes[0].provider_message_id == first.headers["apns-id"]
    assert dict(apns.per_token) == {TOKEN_A: 1, TOKEN_B: 1}


async def test_a_content_available_push_is_a_background_push_at_priority_5(apns: ApnsEndpoint) -> None:
    [outcome] = await provider_for(apns).send_push(PushNotification(data={"content-available": 1}), [ios(TOKEN_A)])
    assert outcome.kind is OutcomeKind.SENT
    request = apns.received[-1]
    assert (request.headers["apns-push-type"], request.headers["apns-priority"]) == ("background", "5")
    assert request.payload == {"aps": {"content-available": 1}}


async def test_the_credential_topic_is_used_when_the_installation_has_none(apns: ApnsEndpoint) -> None:
    provider = provider_for(apns, topic="com.example.app")
    [outcome] = await provider.send_push(PushNotification(data={"alert": "x"}), [ios(TOKEN_A, topic=None)])
    assert outcome.kind is OutcomeKind.SENT
    [outcome] = await provider.send_push(PushNotification(data={"alert": "x"}), [ios(TOKEN_A, topic="com.other")])
    assert (outcome.kind, outcome.error) == (OutcomeKind.FAILED, "TopicDisallowed")


async def test_unregistered_and_bad_tokens_are_invalid(apns: ApnsEndpoint) -> None:
    apns.unregistered.add(TOKEN_B)
    outcomes = await provider_for(apns).send_push(
        PushNotification(data={"alert": "x"}), [ios(TOKEN_B), ios("not-hex"), ios(TOKEN_A)]
    )
    assert [(o.kind, o.error) for o in outcomes] == [
        (OutcomeKind.INVALID_TOKEN, "Unregistered"), (OutcomeKind.INVALID_TOKEN, "BadDeviceToken"),
        (OutcomeKind.SENT, None),
    ]  # fmt: skip


async def test_busy_and_throttled_answers_are_retried(apns: ApnsEndpoint) -> None:
    provider = provider_for(apns)
    apns.unavailable_remaining = 1
    [outcome] = await provider.send_push(PushNotification(data={"alert": "x"}), [ios(TOKEN_A)])
    assert (outcome.kind, outcome.error, outcome.retry_after_seconds) == (OutcomeKind.RETRY, "ServiceUnavailable", 4.0)
    apns.too_many_remaining = 1
    [outcome] = await provider.send_push(PushNotification(data={"alert": "x"}), [ios(TOKEN_A)])
    assert (outcome.kind, outcome.error) == (OutcomeKind.RETRY, "TooManyRequests")
    assert apns.per_token[TOKEN_A] == 0


async def test_the_provider_token_is_reused_then_resigned_after_50_minutes(apns: ApnsEndpoint) -> None:
    now = [time.time()]
    provider = provider_for(apns, clock=lambda: now[0])
    first = provider.provider_token()
    now[0] += 49 * 60
    assert provider.provider_token() == first
    now[0] += 2 * 60
    assert provider.provider_token() != first


async def test_an_expired_provider_token_is_signed_again_once(apns: ApnsEndpoint) -> None:
    base = time.time() - 100
    now = [base]
    provider = provider_for(apns, clock=lambda: now[0])
    await provider.send_push(PushNotification(data={"alert": "1"}), [ios(TOKEN_A)])
    apns.tokens_issued_before_expire = base + 10  # APNs now considers the cached token expired
    now[0] = base + 20
    [outcome] = await provider.send_push(PushNotification(data={"alert": "2"}), [ios(TOKEN_A)])
    assert outcome.kind is OutcomeKind.SENT
    assert apns.per_token[TOKEN_A] == 2


async def test_a_key_apns_does_not_know_fails(apns: ApnsEndpoint) -> None:
    provider = provider_for(apns)
    provider._key_id = "UNKNOWN123"
    [outcome] = await provider.send_push(PushNotification(data={"alert": "x"}), [ios(TOKEN_A)])
    assert (outcome.kind, outcome.error) == (OutcomeKind.FAILED, "InvalidProviderToken")


async def test_an_untrusted_certificate_is_refused(apns: ApnsEndpoint, settings: Any) -> None:
    settings.HANGAR_EGRESS_EXTRA_CA_BUNDLE = None
    [outcome] = await provider_for(apns).send_push(PushNotification(data={"alert": "x"}), [ios(TOKEN_A)])
    assert outcome.kind is OutcomeKind.RETRY  # a TLS failure is a connection failure to egress
    assert apns.per_token[TOKEN_A] == 0
