"""Firebase Cloud Messaging, HTTP v1 API (https://firebase.google.com/docs/reference/fcm/rest/v1/projects.messages).

A service account's key signs an RS256 JWT assertion, exchanged at its ``token_uri`` for an
OAuth access token (RFC 7523, https://developers.google.com/identity/protocols/oauth2/service-account#httprest);
every message is one ``messages:send`` request for one device token.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import jwt
import orjson

from hangar.egress import EgressError, egress_request
from hangar.messaging.adapters.base import DeliveryOutcome, OutcomeKind, PushNotification, PushTarget
from hangar.messaging.adapters.oauth_token import CachedToken, IssuedToken
from hangar.messaging.adapters.outcomes import bounded_map, egress_failure, retry_after_seconds
from hangar.messaging.adapters.payloads import android_data, aps_payload, seconds_until

DEFAULT_BASE_URL = "https://fcm.googleapis.com"
SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
FCM_TTL_MAX_SECONDS = 4 * 7 * 24 * 3600  # FCM keeps a message four weeks at most
_RETRY_STATUSES = {"UNAVAILABLE", "INTERNAL", "QUOTA_EXCEEDED", "RESOURCE_EXHAUSTED"}


class FcmAuthError(Exception):
    """The token endpoint refused the service account (``retryable`` when it was an outage)."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class FcmPushProvider:
    name = "fcm"

    def __init__(
        self, *, service_account: dict[str, Any], base_url: str = DEFAULT_BASE_URL, token_uri: str | None = None,
        concurrency: int = 32, clock: Callable[[], float] = time.time,
    ) -> None:  # fmt: skip
        self._account = service_account
        self._project_id = str(service_account["project_id"])
        self._token_uri = token_uri or str(service_account["token_uri"])
        self._send_url = f"{base_url.rstrip('/')}/v1/projects/{self._project_id}/messages:send"
        self._concurrency = concurrency
        self._clock = clock
        self._token = CachedToken(self._exchange, clock=clock)

    async def _exchange(self) -> IssuedToken:
        """A new access token for a freshly signed assertion."""
        now = int(time.time())  # the assertion's times are checked by Google against its own clock
        claims = {
            "iss": self._account["client_email"], "scope": SCOPE, "aud": self._token_uri, "iat": now, "exp": now + 3600
        }  # fmt: skip
        key_id = self._account.get("private_key_id")
        assertion = jwt.encode(
            claims, self._account["private_key"], algorithm="RS256", headers={"kid": key_id} if key_id else None
        )
        body = urlencode({"grant_type": GRANT_TYPE, "assertion": assertion}).encode()
        try:
            response = await egress_request(
                "POST", self._token_uri, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
            )
        except EgressError as exc:
            raise FcmAuthError(f"token endpoint unreachable: {exc}", retryable=exc.retryable) from exc
        if response.status_code != 200:
            raise FcmAuthError(f"token endpoint answered {response.status_code}", retryable=response.status_code >= 500)
        try:
            answer = response.json()
            return IssuedToken(str(answer["access_token"]), self._clock() + float(answer.get("expires_in", 3600)))
        except (ValueError, KeyError, TypeError) as exc:
            raise FcmAuthError("token endpoint sent no access_token", retryable=False) from exc

    async def send_push(self, notification: PushNotification, targets: list[PushTarget]) -> list[DeliveryOutcome]:
        # The message differs between targets only by token, platform and badge: built once per
        # (platform, badge) of the call, not once per device (its "time" is the call's).
        shared: dict[tuple[bool, int | None], dict[str, Any]] = {}

        def body_for(target: PushTarget) -> bytes:
            key = (target.device_type == "ios", target.badge)
            if key not in shared:
                shared[key] = {k: v for k, v in self.message_for(notification, target).items() if k != "token"}
            return orjson.dumps({"message": {"token": target.device_token, **shared[key]}}, default=str)

        return await bounded_map(targets, lambda t: self._send_one(body_for(t)), concurrency=self._concurrency)

    async def _send_one(self, body: bytes) -> DeliveryOutcome:
        stale: str | None = None
        for _ in range(2):  # a 401 gets one fresh token, then counts as failed
            try:
                token = await self._token.get(stale=stale)
            except FcmAuthError as exc:
                return DeliveryOutcome(OutcomeKind.RETRY if exc.retryable else OutcomeKind.FAILED, error=str(exc))
            try:
                response = await egress_request(
                    "POST", self._send_url, content=body, keep_alive=True,
                    headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                )  # fmt: skip
            except EgressError as exc:
                return egress_failure(exc)
            if response.status_code != 401:
                break
            stale = token
        return _outcome(response.status_code, response.content, response.headers)

    def message_for(self, notification: PushNotification, target: PushTarget) -> dict[str, Any]:
        """The v1 ``message`` for one device: Parse's Android shape, or an ``apns`` block for an iOS token."""
        ttl = seconds_until(notification.expiration, cap=FCM_TTL_MAX_SECONDS)
        message: dict[str, Any] = {"token": target.device_token}
        if target.device_type == "ios":
            headers = {"apns-push-type": "alert", "apns-priority": "10" if notification.priority_high else "5"}
            if notification.expiration is not None:
                headers["apns-expiration"] = str(int(notification.expiration.timestamp()))
            message["apns"] = {"headers": headers, "payload": aps_payload(notification.data, badge=target.badge)}
            return message
        android: dict[str, Any] = {
            "priority": "high" if notification.priority_high else "normal",
            "data": android_data(notification.data, push_id=notification.push_id, badge=target.badge),
        }
        if ttl is not None:
            android["ttl"] = f"{ttl}s"
        if notification.push_id:
            # A campaign's message resent to the same device after a worker died between the
            # send and its record replaces the first one while undelivered (docs/messaging.md, "Delivery").
            android["collapse_key"] = notification.push_id
        if isinstance(notification.data.get("notification"), dict):
            android["notification"] = notification.data["notification"]
        message["android"] = android
        return message

    async def aclose(self) -> None:
        return None


def _fcm_error(content: bytes) -> tuple[str, str, list[dict[str, Any]]]:
    """(status, errorCode, details) of an FCM error body; empty strings when it is not one."""
    try:
        error = orjson.loads(content).get("error") or {}
        details = [d for d in error.get("details") or [] if isinstance(d, dict)]
    except (ValueError, AttributeError):
        return "", "", []
    code = next((str(d["errorCode"]) for d in details if d.get("errorCode")), "")
    return str(error.get("status") or ""), code, details


def _token_is_the_culprit(details: list[dict[str, Any]], message: bytes) -> bool:
    """A 400 INVALID_ARGUMENT names the token (not the payload) as the invalid field."""
    for detail in details:
        for violation in detail.get("fieldViolations") or []:
            if str(violation.get("field", "")) == "message.token":
                return True
    return b"registration token" in message.lower()


def _outcome(status_code: int, content: bytes, headers: Any) -> DeliveryOutcome:
    # https://firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode
    if status_code == 200:
        try:
            return DeliveryOutcome.sent(str(orjson.loads(content).get("name") or "") or None)
        except (ValueError, AttributeError):
            return DeliveryOutcome.sent()
    status, code, details = _fcm_error(content)
    reason = code or status or f"http {status_code}"
    if code == "UNREGISTERED" or status_code == 404:
        return DeliveryOutcome(OutcomeKind.INVALID_TOKEN, error=reason)
    if status_code == 400 and _token_is_the_culprit(details, content):
        return DeliveryOutcome(OutcomeKind.INVALID_TOKEN, error="INVALID_ARGUMENT")
    if status_code in (429, 500, 502, 503, 504) or code in _RETRY_STATUSES or status in _RETRY_STATUSES:
        return DeliveryOutcome(OutcomeKind.RETRY, error=reason, retry_after_seconds=retry_after_seconds(headers))
    return DeliveryOutcome(OutcomeKind.FAILED, error=reason)
