"""A push provider *adapter* double that sends FCM HTTP v1 ``messages:send`` requests to a local endpoint.

It stands where ``hangar.messaging.providers.push_provider_for`` and the FCM adapter will
be (``HANGAR_PUSH_PROVIDER_FOR=bench.fcm_push_double.push_provider_for``), so that the push
benchmark and the engine's SIGKILL test count deliveries at an HTTP endpoint
(bench/fcm_endpoint.py) before the real adapter is merged; after the merge they use the real
adapter pointed at the adapters' local FCM server. No OAuth token exchange: a fixed bearer.

Each target becomes one message (FCM v1 has no batch send); the delivery id is the
message's ``android.collapse_key`` and ``apns-collapse-id``, so a resend after a crash is
the same notification to the device. The endpoint is ``HANGAR_PUSH_DOUBLE_FCM_URL``.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import httpx

from hangar.messaging.adapters.base import DeliveryOutcome, OutcomeKind, PushNotification, PushTarget

CONCURRENCY = int(os.environ.get("HANGAR_PUSH_DOUBLE_CONCURRENCY", "32"))


def fcm_message(notification: PushNotification, target: PushTarget) -> dict[str, Any]:
    data = dict(notification.data)
    if target.badge is not None:
        data["badge"] = target.badge
    message: dict[str, Any] = {
        "token": target.device_token,
        "data": {key: value if isinstance(value, str) else json.dumps(value) for key, value in data.items()},
        "android": {"priority": "high" if notification.priority_high else "normal"},
    }
    if target.delivery_id:
        message["android"]["collapse_key"] = target.delivery_id
        message["apns"] = {"headers": {"apns-collapse-id": target.delivery_id}}
    return {"message": message}


def outcome_of(response: httpx.Response) -> DeliveryOutcome:
    if response.status_code == 200:
        return DeliveryOutcome.sent(response.json().get("name"))
    if response.status_code in (429, 500, 502, 503, 504):
        after = response.headers.get("retry-after")
        return DeliveryOutcome(
            OutcomeKind.RETRY, error=f"http {response.status_code}",
            retry_after_seconds=float(after) if after and after.isdigit() else None,
        )  # fmt: skip
    if response.status_code == 404 and "UNREGISTERED" in response.text:
        return DeliveryOutcome(OutcomeKind.INVALID_TOKEN, error="UNREGISTERED")
    return DeliveryOutcome(OutcomeKind.FAILED, error=f"http {response.status_code}")


class FcmHttpPushDouble:
    name = "fcm"

    def __init__(self, base_url: str) -> None:
        self.url = f"{base_url.rstrip('/')}/v1/projects/hangar-bench/messages:send"

    async def send_push(self, notification: PushNotification, targets: list[PushTarget]) -> list[DeliveryOutcome]:
        limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
        gate = asyncio.Semaphore(CONCURRENCY)
        async with httpx.AsyncClient(limits=limits, timeout=30, headers={"Authorization": "Bearer local"}) as client:

            async def one(target: PushTarget) -> DeliveryOutcome:
                async with gate:
                    try:
                        return outcome_of(await client.post(self.url, json=fcm_message(notification, target)))
                    except httpx.HTTPError as exc:
                        return DeliveryOutcome(OutcomeKind.RETRY, error=type(exc).__name__)

            return list(await asyncio.gather(*(one(target) for target in targets)))

    async def aclose(self) -> None:
        return None


async def push_provider_for(*, app_pk: int, device_type: str, push_type: str | None) -> FcmHttpPushDouble:
    return FcmHttpPushDouble(os.environ["HANGAR_PUSH_DOUBLE_FCM_URL"])
