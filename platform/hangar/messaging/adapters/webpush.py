"""Web Push: a message encrypted for the browser's subscription (RFC 8291, aes128gcm per RFC 8188),
POSTed to the push service's endpoint with a VAPID authorization (RFC 8292, RFC 8030).

The installation's ``deviceToken`` is the browser's PushSubscription as JSON:
``{"endpoint": "https://...", "keys": {"p256dh": "...", "auth": "..."}}``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import http_ece
import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from hangar.egress import EgressError, egress_request
from hangar.messaging.adapters.base import DeliveryOutcome, OutcomeKind, PushNotification, PushTarget
from hangar.messaging.adapters.outcomes import bounded_map, egress_failure, retry_after_seconds
from hangar.messaging.adapters.payloads import seconds_until, web_payload
from hangar.messaging.adapters.vapid import b64url_decode, public_key_b64url, vapid_private_key

DEFAULT_TTL_SECONDS = 4 * 7 * 24 * 3600  # a push service keeps a message 4 weeks at most
VAPID_LIFETIME_SECONDS = 12 * 3600  # push services refuse a JWT valid for more than 24 hours


class InvalidSubscriptionError(ValueError):
    """A deviceToken that is not a usable PushSubscription."""


def subscription_from_token(device_token: str) -> tuple[str, bytes, bytes]:
    """(endpoint, p256dh public key, auth secret) of a PushSubscription JSON."""
    try:
        subscription = json.loads(device_token)
        endpoint = str(subscription["endpoint"])
        p256dh = b64url_decode(str(subscription["keys"]["p256dh"]))
        auth = b64url_decode(str(subscription["keys"]["auth"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidSubscriptionError("deviceToken is not a PushSubscription") from exc
    if urlsplit(endpoint).scheme not in ("http", "https") or len(p256dh) != 65 or len(auth) < 16:
        raise InvalidSubscriptionError("deviceToken is not a PushSubscription")
    return endpoint, p256dh, auth


class WebPushProvider:
    name = "webpush"

    def __init__(
        self, *, private_key: str, subject: str, concurrency: int = 32, clock: Callable[[], float] = time.time
    ) -> None:
        self._key = vapid_private_key(private_key)
        self._public_key = public_key_b64url(self._key)
        self._subject = subject  # "mailto:ops@example.com": whom the push service may contact
        self._concurrency = concurrency
        self._clock = clock
        self._jwts: dict[str, tuple[str, float]] = {}  # per audience (push service origin)

    def authorization(self, endpoint: str) -> str:
        parts = urlsplit(endpoint)
        audience = f"{parts.scheme}://{parts.netloc}"
        now = self._clock()
        cached = self._jwts.get(audience)
        if cached is None or cached[1] - now < 3600:
            expires = int(now + VAPID_LIFETIME_SECONDS)
            signed = jwt.encode({"aud": audience, "exp": expires, "sub": self._subject}, self._key, algorithm="ES256")
            cached = self._jwts[audience] = (signed, expires)
        return f"vapid t={cached[0]}, k={self._public_key}"

    async def send_push(self, notification: PushNotification, targets: list[PushTarget]) -> list[DeliveryOutcome]:
        return await bounded_map(targets, lambda t: self._send_one(notification, t), concurrency=self._concurrency)

    async def _send_one(self, notification: PushNotification, target: PushTarget) -> DeliveryOutcome:
        try:
            endpoint, p256dh, auth = subscription_from_token(target.device_token)
        except InvalidSubscriptionError:
            return DeliveryOutcome(OutcomeKind.INVALID_TOKEN, error="BadSubscription")
        body = http_ece.encrypt(
            web_payload(notification.data, push_id=notification.push_id), salt=os.urandom(16),
            private_key=ec.generate_private_key(ec.SECP256R1()), dh=p256dh, auth_secret=auth, version="aes128gcm",
        )  # fmt: skip
        ttl = seconds_until(notification.expiration, cap=DEFAULT_TTL_SECONDS)
        headers = {
            "Authorization": self.authorization(endpoint),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "TTL": str(DEFAULT_TTL_SECONDS if ttl is None else ttl),
            "Urgency": "high" if notification.priority_high else "normal",
        }
        try:
            response = await egress_request("POST", endpoint, content=body, headers=headers, keep_alive=True)
        except EgressError as exc:
            return egress_failure(exc)
        status = response.status_code
        if status in (200, 201, 202):
            return DeliveryOutcome.sent(response.headers.get("Location"))
        if status in (404, 410):
            return DeliveryOutcome(OutcomeKind.INVALID_TOKEN, error=f"http {status}")
        if status == 429 or status >= 500:
            return DeliveryOutcome(
                OutcomeKind.RETRY, error=f"http {status}", retry_after_seconds=retry_after_seconds(response.headers)
            )
        return DeliveryOutcome(OutcomeKind.FAILED, error=f"http {status}")

    async def aclose(self) -> None:
        return None
