"""The FCM adapter against the local FCM server: OAuth exchange, message shape, error mapping, token refresh."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from hangar.messaging.adapters.base import OutcomeKind, PushNotification, PushTarget
from hangar.messaging.adapters.fcm import FcmPushProvider
from tests.messaging.endpoints.fcm import FcmEndpoint

pytestmark = pytest.mark.asyncio


def android(token: str, object_id: str = "inst1") -> PushTarget:
    return PushTarget(installation_object_id=object_id, device_type="android", device_token=token, push_type="gcm")


def provider_for(fcm: FcmEndpoint, **kwargs: object) -> FcmPushProvider:
    return FcmPushProvider(service_account=fcm.service_account(), base_url=fcm.url, **kwargs)  # type: ignore[arg-type]


async def test_a_push_reaches_each_token_once_with_parse_android_data(fcm: FcmEndpoint) -> None:
    provider = provider_for(fcm)
    data = {"alert": "Hello", "title": "Hi", "badge": 3, "sound": "default", "uri": "app://x", "score": 7}
    notification = PushNotification(data=data, push_id="PS1", expiration=datetime.now(UTC) + timedelta(hours=1))
    outcomes = await provider.send_push(notification, [android("tok-aaaaaaaa"), android("tok-bbbbbbbb")])

    assert [o.kind for o in outcomes] == [OutcomeKind.SENT, OutcomeKind.SENT]
    assert all(
        o.provider_message_id and o.provider_message_id.startswith("projects/hangar-test/messages/") for o in outcomes
    )
    assert dict(fcm.per_token) == {"tok-aaaaaaaa": 1, "tok-bbbbbbbb": 1}
    message = fcm.received[0]
    assert message["android"]["priority"] == "high"
    assert 3590 <= int(message["android"]["ttl"].rstrip("s")) <= 3600
    body = message["android"]["data"]
    assert body["push_id"] == "PS1"
    assert body["time"].endswith("Z")
    # Parse's data travels as one JSON string; the APNs-only integer badge is left out.
    assert json.loads(body["data"]) == {
        "alert": "Hello",
        "title": "Hi",
        "sound": "default",
        "uri": "app://x",
        "score": 7,
    }
    assert fcm.token_requests == 1  # one access token for both


async def test_an_incremented_badge_reaches_each_android_device_as_its_own(fcm: FcmEndpoint) -> None:
    """The engine counted each installation's badge (``"badge": "Increment"``): it travels in Parse's data."""
    notification = PushNotification(data={"alert": "Hello"}, push_id="PS2")
    targets = [PushTarget("i1", "android", "tok-badge-one", badge=4), android("tok-badge-two")]
    await provider_for(fcm).send_push(notification, targets)
    sent = {m["token"]: json.loads(m["android"]["data"]["data"]) for m in fcm.received}
    assert sent == {"tok-badge-one": {"alert": "Hello", "badge": 4}, "tok-badge-two": {"alert": "Hello"}}


async def test_an_ios_token_gets_an_apns_block(fcm: FcmEndpoint) -> None:
    provider = provider_for(fcm)
    target = PushTarget("i1", "ios", "ios-token-1234", badge=5)
    [outcome] = await provider.send_push(PushNotification(data={"alert": "Yo", "category": "c", "k": "v"}), [target])
    assert outcome.kind is OutcomeKind.SENT
    apns = fcm.received[0]["apns"]
    assert apns["payload"] == {"aps": {"alert": {"body": "Yo"}, "category": "c", "badge": 5}, "k": "v"}
    assert apns["headers"]["apns-push-type"] == "alert"


async def test_unregistered_and_malformed_tokens_are_invalid(fcm: FcmEndpoint) -> None:
    fcm.unregistered.add("gone-token-1")
    outcomes = await provider_for(fcm).send_push(
        PushNotification(data={"alert": "x"}), [android("gone-token-1"), android("bad"), android("good-token-1")]
    )
    assert [o.kind for o in outcomes] == [OutcomeKind.INVALID_TOKEN, OutcomeKind.INVALID_TOKEN, OutcomeKind.SENT]
    assert outcomes[0].error == "UNREGISTERED"
    assert outcomes[1].error == "INVALID_ARGUMENT"


async def test_unavailable_and_quota_are_retried_after_the_servers_delay(fcm: FcmEndpoint) -> None:
    provider = provider_for(fcm)
    fcm.unavailable_remaining = 1
    [outcome] = await provider.send_push(PushNotification(data={"alert": "x"}), [android("token-retry-1")])
    assert (outcome.kind, outcome.error, outcome.retry_after_seconds) == (OutcomeKind.RETRY, "UNAVAILABLE", 7.0)
    fcm.quota_remaining = 1
    [outcome] = await provider.send_push(PushNotification(data={"alert": "x"}), [android("token-retry-1")])
    assert (outcome.kind, outcome.error) == (OutcomeKind.RETRY, "QUOTA_EXCEEDED")
    assert fcm.per_token["token-retry-1"] == 0


async def test_a_revoked_access_token_is_exchanged_again_once(fcm: FcmEndpoint) -> None:
    provider = provider_for(fcm)
    await provider.send_push(PushNotification(data={"alert": "1"}), [android("token-refresh")])
    fcm.revoke_access_tokens()
    [outcome] = await provider.send_push(PushNotification(data={"alert": "2"}), [android("token-refresh")])
    assert outcome.kind is OutcomeKind.SENT
    assert fcm.token_requests == 2
    assert fcm.per_token["token-refresh"] == 2


async def test_the_token_is_renewed_before_it_expires(fcm: FcmEndpoint) -> None:
    now = [1_000_000.0]
    fcm.token_lifetime_seconds = 3600
    provider = provider_for(fcm)
    provider._clock = provider._token._clock = lambda: now[0]
    await provider.send_push(PushNotification(data={"alert": "1"}), [android("token-clock")])
    now[0] += 3000  # still valid, with more than the refresh margin left
    await provider.send_push(PushNotification(data={"alert": "2"}), [android("token-clock")])
    assert fcm.token_requests == 1
    now[0] += 400  # within five minutes of the expiry: renewed
    await provider.send_push(PushNotification(data={"alert": "3"}), [android("token-clock")])
    assert fcm.token_requests == 2


async def test_a_service_account_the_server_does_not_know_fails_every_target(fcm: FcmEndpoint) -> None:
    account = fcm.service_account()
    fcm.accounts.pop(account["client_email"])
    provider = FcmPushProvider(service_account=account, base_url=fcm.url)
    outcomes = await provider.send_push(
        PushNotification(data={"alert": "x"}), [android("token-x1"), android("token-x2")]
    )
    assert [o.kind for o in outcomes] == [OutcomeKind.FAILED, OutcomeKind.FAILED]
    assert fcm.per_token == {}


async def test_without_egress_permission_for_loopback_nothing_is_sent(fcm: FcmEndpoint, settings: object) -> None:
    settings.HANGAR_EGRESS_ALLOW_PRIVATE = []  # type: ignore[attr-defined]
    [outcome] = await provider_for(fcm).send_push(PushNotification(data={"alert": "x"}), [android("token-policy")])
    assert outcome.kind is OutcomeKind.FAILED
    assert fcm.token_requests == 0
    assert fcm.per_token == {}


async def test_a_server_in_another_process_is_configured_and_read_over_http(fcm: FcmEndpoint) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=fcm.url) as client:
        assert (await client.post("/_configure", json={"unregistered": ["gone-remote-1"]})).status_code == 204
        outcomes = await provider_for(fcm).send_push(
            PushNotification(data={"alert": "x"}), [android("gone-remote-1"), android("kept-remote-1")]
        )
        assert [o.kind for o in outcomes] == [OutcomeKind.INVALID_TOKEN, OutcomeKind.SENT]
        stats = (await client.get("/_stats")).json()
        assert (stats["received"], stats["tokens"], stats["duplicates"]) == (1, 1, 0)
        assert stats["tokens_without_collapse_key"] == 1  # no push_id, no collapse key
        assert stats["token_requests"] == 1
