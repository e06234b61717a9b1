"""Apple Push Notification service over HTTP/2 with token authentication.

https://developer.apple.com/documentation/usernotifications/sending-notification-requests-to-apns
The provider token is an ES256 JWT (header ``kid`` = the .p8 key's id, claims ``iss`` = the
team id and ``iat``) that APNs accepts for an hour and refuses to see renewed more often than
every 20 minutes: it is signed again every 50 minutes.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import jwt

from hangar.egress import EgressError, egress_request
from hangar.messaging.adapters.base import DeliveryOutcome, OutcomeKind, PushNotification, PushTarget
from hangar.messaging.adapters.outcomes import bounded_map, egress_failure, retry_after_seconds
from hangar.messaging.adapters.payloads import aps_payload

PRODUCTION_URL = "https://api.push.apple.com"
SANDBOX_URL = "https://api.sandbox.push.apple.com"
TOKEN_LIFETIME_SECONDS = 50 * 60
_INVALID_TOKEN_REASONS = {"Unregistered", "BadDeviceToken", "DeviceTokenNotForTopic"}
_RETRY_REASONS = {"TooManyRequests", "InternalServerError", "ServiceUnavailable", "Shutdown"}
_ALERT_KEYS = {"alert", "title", "sound", "badge"}


class ApnsPushProvider:
    name = "apns"

    def __init__(
        self, *, key_pem: str, key_id: str, team_id: str, topic: str = "", base_url: str = PRODUCTION_URL,
        concurrency: int = 32, clock: Callable[[], float] = time.time,
    ) -> None:  # fmt: skip
        self._key_pem = key_pem
        self._key_id = key_id
        self._team_id = team_id
        self._topic = topic  # the bundle id used when an installation has no appIdentifier
        self._base_url = base_url.rstrip("/")
        self._concurrency = concurrency
        self._clock = clock
        self._token: tuple[str, float] | None = None

    def provider_token(self, *, renew: bool = False) -> str:
        """The signed JWT, re-signed when it is 50 minutes old (or when APNs said it expired)."""
        now = self._clock()
        if renew or self._token is None or now - self._token[1] >= TOKEN_LIFETIME_SECONDS:
            signed = jwt.encode(
                {"iss": self._team_id, "iat": int(now)}, self._key_pem, algorithm="ES256", headers={"kid": self._key_id}
            )
            self._token = (signed, now)
        return self._token[0]

    async def send_push(self, notification: PushNotification, targets: list[PushTarget]) -> list[DeliveryOutcome]:
        return await bounded_map(targets, lambda t: self._send_one(notification, t), concurrency=self._concurrency)

    def headers_for(self, notification: PushNotification, target: PushTarget) -> dict[str, str]:
        data = notification.data
        background = bool(data.get("content-available")) and not (_ALERT_KEYS & data.keys())
        push_type = str(data.get("push_type") or ("background" if background else "alert"))
        headers = {
            "apns-topic": target.app_identifier or self._topic,
            "apns-push-type": push_type,
            # Apple refuses priority 10 for a background push.
            "apns-priority": "10" if notification.priority_high and push_type != "background" else "5",
            # The same campaign and device always get the same id: a retried request is recognisable.
            "apns-id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"hangar-push:{notification.push_id}:{target.device_token}")),
        }
        if notification.expiration is not None:
            headers["apns-expiration"] = str(max(0, int(notification.expiration.timestamp())))
        # Without the sender's own collapse id, the campaign's: a resent copy replaces the first on the device.
        collapse_id = data.get("collapse_id") or notification.push_id
        if collapse_id:
            headers["apns-collapse-id"] = str(collapse_id)[:64]
        return headers

    async def _send_one(self, notification: PushNotification, target: PushTarget) -> DeliveryOutcome:
        url = f"{self._base_url}/3/device/{target.device_token}"
        body = json.dumps(aps_payload(notification.data, badge=target.badge), default=str).encode()
        headers = self.headers_for(notification, target)
        renew = False
        for _ in range(2):  # an ExpiredProviderToken gets one freshly signed token
            try:
                response = await egress_request(
                    "POST", url, content=body, http2=True, keep_alive=True,
                    headers={**headers, "authorization": f"bearer {self.provider_token(renew=renew)}"},
                )  # fmt: skip
            except EgressError as exc:
                return egress_failure(exc)
            if response.status_code == 200:
                return DeliveryOutcome.sent(response.headers.get("apns-id"))
            reason = _reason(response.content)
            if reason != "ExpiredProviderToken" or renew:
                break
            renew = True
        if reason in _INVALID_TOKEN_REASONS or response.status_code == 410:
            return DeliveryOutcome(OutcomeKind.INVALID_TOKEN, error=reason or "Unregistered")
        if reason in _RETRY_REASONS or response.status_code in (429, 500, 503):
            return DeliveryOutcome(
                OutcomeKind.RETRY, error=reason or f"http {response.status_code}",
                retry_after_seconds=retry_after_seconds(response.headers),
            )  # fmt: skip
        return DeliveryOutcome(OutcomeKind.FAILED, error=reason or f"http {response.status_code}")

    async def aclose(self) -> None:
        return None


def _reason(content: bytes) -> str:
    try:
        answer: Any = json.loads(content)
        return str(answer.get("reason") or "")
    except (ValueError, AttributeError):
        return ""
