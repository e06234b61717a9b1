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
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from hangar.messaging.adapters.base import DeliveryOutcome, OutcomeKind, PushNotification, PushTarget

CONCURRENCY = int(os.environ.get("HANGAR_PUSH_DOUBLE_CONCURRENCY", "16"))


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


def outcome_of(response: Answer) -> DeliveryOutcome:
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


@dataclass(frozen=True)
class Answer:
    status_code: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


class _Connection:
    """One keep-alive HTTP/1.1 connection: a request, then its answer (Content-Length bodies)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def post(self, host: str, path: str, body: bytes) -> Answer:
        self.writer.write(
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer local\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if value:
                headers[name.strip().lower()] = value.strip()
        text = (await self.reader.readexactly(int(headers.get("content-length", "0")))).decode()
        return Answer(int(lines[0].split(" ", 2)[1]), headers, text)


class FcmHttpPushDouble:
    """Sends each target as one FCM v1 request over CONCURRENCY keep-alive connections.

    A lean HTTP/1.1 client of its own rather than httpx: the benchmark measures the engine,
    and httpx's pool cost more CPU per request than the whole engine (measured). The real
    FCM adapter goes through hangar.egress; its cost is the adapters' to measure.
    """

    name = "fcm"

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.path = f"{parts.path.rstrip('/')}/v1/projects/hangar-bench/messages:send"

    async def send_push(self, notification: PushNotification, targets: list[PushTarget]) -> list[DeliveryOutcome]:
        outcomes: list[DeliveryOutcome | None] = [None] * len(targets)
        pending = iter(range(len(targets)))

        async def sender() -> None:
            reader, writer = await asyncio.open_connection(self.host, self.port)
            connection = _Connection(reader, writer)
            try:
                for index in pending:
                    body = json.dumps(fcm_message(notification, targets[index])).encode()
                    try:
                        outcomes[index] = outcome_of(await connection.post(self.host, self.path, body))
                    except (OSError, asyncio.IncompleteReadError) as exc:
                        outcomes[index] = DeliveryOutcome(OutcomeKind.RETRY, error=type(exc).__name__)
                        return
            finally:
                writer.close()

        try:
            await asyncio.gather(*(sender() for _ in range(min(CONCURRENCY, len(targets)))))
        except OSError:
            pass  # the endpoint refused connections: what was not sent is retried
        return [outcome or DeliveryOutcome(OutcomeKind.RETRY, error="not sent") for outcome in outcomes]

    async def aclose(self) -> None:
        return None


async def push_provider_for(*, app_pk: int, device_type: str, push_type: str | None) -> FcmHttpPushDouble:
    return FcmHttpPushDouble(os.environ["HANGAR_PUSH_DOUBLE_FCM_URL"])
