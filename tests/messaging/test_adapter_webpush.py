"""The Web Push adapter against the local push service: VAPID, aes128gcm encryption, TTL, gone subscriptions."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from hangar.messaging.adapters.base import OutcomeKind, PushNotification, PushTarget
from hangar.messaging.adapters.vapid import private_key_pem, public_key_b64url
from hangar.messaging.adapters.webpush import WebPushProvider
from tests.messaging.endpoints.webpush import WebPushEndpoint

pytestmark = pytest.mark.asyncio


@pytest.fixture
def vapid_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def web(subscription: str) -> PushTarget:
    return PushTarget("web-inst", "web", subscription)


async def test_the_browser_decrypts_the_parse_data(
    webpush_endpoint: WebPushEndpoint, vapid_key: ec.EllipticCurvePrivateKey
) -> None:
    subscription = webpush_endpoint.subscribe(public_key_b64url(vapid_key))
    provider = WebPushProvider(private_key=private_key_pem(vapid_key), subject="mailto:ops@example.com")
    expires = datetime.now(UTC) + timedelta(minutes=10)
    notification = PushNotification(data={"alert": "Hi web", "uri": "/inbox"}, push_id="PW1", expiration=expires)

    [outcome] = await provider.send_push(notification, [web(subscription)])

    assert outcome.kind is OutcomeKind.SENT
    assert outcome.provider_message_id
    record = next(r for r in webpush_endpoint.received if r["id"] == webpush_endpoint.subscription_id(subscription))
    assert record["payload"] == {"push_id": "PW1", "data": {"alert": "Hi web", "uri": "/inbox"}}
    assert 590 <= record["ttl"] <= 600
    assert record["urgency"] == "high"


async def test_a_raw_base64url_private_key_works_too(
    webpush_endpoint: WebPushEndpoint, vapid_key: ec.EllipticCurvePrivateKey
) -> None:
    from hangar.messaging.adapters.vapid import b64url_encode

    raw = b64url_encode(vapid_key.private_numbers().private_value.to_bytes(32, "big"))
    subscription = webpush_endpoint.subscribe(public_key_b64url(vapid_key))
    provider = WebPushProvider(private_key=raw, subject="https://example.com")
    [outcome] = await provider.send_push(PushNotification(data={"alert": "x"}), [web(subscription)])
    assert outcome.kind is OutcomeKind.SENT


async def test_a_subscription_made_for_another_key_is_refused(
    webpush_endpoint: WebPushEndpoint, vapid_key: ec.EllipticCurvePrivateKey
) -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    subscription = webpush_endpoint.subscribe(public_key_b64url(other))
    provider = WebPushProvider(private_key=private_key_pem(vapid_key), subject="mailto:ops@example.com")
    [outcome] = await provider.send_push(PushNotification(data={"alert": "x"}), [web(subscription)])
    assert (outcome.kind, outcome.error) == (OutcomeKind.FAILED, "http 403")


async def test_gone_and_unknown_subscriptions_and_bad_tokens_are_invalid(
    webpush_endpoint: WebPushEndpoint, vapid_key: ec.EllipticCurvePrivateKey
) -> None:
    key = public_key_b64url(vapid_key)
    gone = webpush_endpoint.subscribe(key)
    webpush_endpoint.gone.add(webpush_endpoint.subscription_id(gone))
    unknown = webpush_endpoint.subscribe(key)
    webpush_endpoint.subscriptions.pop(webpush_endpoint.subscription_id(unknown))
    provider = WebPushProvider(private_key=private_key_pem(vapid_key), subject="mailto:ops@example.com")
    outcomes = await provider.send_push(
        PushNotification(data={"alert": "x"}), [web(gone), web(unknown), web("not json"), web('{"endpoint": "x"}')]
    )
    assert [(o.kind, o.error) for o in outcomes] == [
        (OutcomeKind.INVALID_TOKEN, "http 410"), (OutcomeKind.INVALID_TOKEN, "http 404"),
        (OutcomeKind.INVALID_TOKEN, "BadSubscription"), (OutcomeKind.INVALID_TOKEN, "BadSubscription"),
    ]  # fmt: skip


async def test_a_busy_push_service_is_retried(
    webpush_endpoint: WebPushEndpoint, vapid_key: ec.EllipticCurvePrivateKey
) -> None:
    subscription = webpush_endpoint.subscribe(public_key_b64url(vapid_key))
    provider = WebPushProvider(private_key=private_key_pem(vapid_key), subject="mailto:ops@example.com")
    webpush_endpoint.unavailable_remaining = 1
    [outcome] = await provider.send_push(PushNotification(data={"alert": "x"}), [web(subscription)])
    assert (outcome.kind, outcome.retry_after_seconds) == (OutcomeKind.RETRY, 5.0)


async def test_a_subscription_pointing_inside_the_network_is_refused_by_egress(
    webpush_endpoint: WebPushEndpoint, vapid_key: ec.EllipticCurvePrivateKey, settings: object
) -> None:
    """The endpoint comes from an end user's browser: egress refuses internal addresses (cloud metadata...)."""
    settings.HANGAR_EGRESS_ALLOW_PRIVATE = []  # type: ignore[attr-defined]
    subscription = json.loads(webpush_endpoint.subscribe(public_key_b64url(vapid_key)))
    subscription["endpoint"] = "http://169.254.169.254/latest/meta-data/"
    provider = WebPushProvider(private_key=private_key_pem(vapid_key), subject="mailto:ops@example.com")
    [outcome] = await provider.send_push(PushNotification(data={"alert": "x"}), [web(json.dumps(subscription))])
    assert (outcome.kind, outcome.error) == (OutcomeKind.FAILED, "egress: EgressRefusedError")


async def test_a_browser_subscribes_over_http_for_another_process(
    webpush_endpoint: WebPushEndpoint, vapid_key: ec.EllipticCurvePrivateKey
) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=webpush_endpoint.url) as client:
        answer = await client.post("/_subscribe", json={"application_server_key": public_key_b64url(vapid_key)})
        provider = WebPushProvider(private_key=private_key_pem(vapid_key), subject="mailto:ops@example.com")
        [outcome] = await provider.send_push(PushNotification(data={"n": 1}, push_id="R"), [web(answer.text)])
        assert outcome.kind is OutcomeKind.SENT
        received = (await client.get("/_received")).json()
        assert {"push_id": "R", "data": {"n": 1}} in [r["payload"] for r in received]
