"""Email through Amazon SES (API v2 ``SendEmail`` with raw MIME content).

https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_SendEmail.html
"""

from __future__ import annotations

import asyncio

from hangar.messaging.adapters.aws import aws_client, aws_failure
from hangar.messaging.adapters.base import DeliveryOutcome, EmailMessage, OutcomeKind
from hangar.messaging.adapters.mime import mime_message


class SesEmailProvider:
    name = "ses"

    def __init__(
        self, *, access_key_id: str, secret_access_key: str, region: str, sender: str,
        endpoint_url: str | None = None, proxy: str | None = None, timeout: float = 10.0,
    ) -> None:  # fmt: skip
        self._client = aws_client(
            "sesv2", access_key_id=access_key_id, secret_access_key=secret_access_key, region=region,
            endpoint_url=endpoint_url, proxy=proxy, timeout=timeout,
        )  # fmt: skip
        self._sender = sender

    async def send_email(self, message: EmailMessage) -> DeliveryOutcome:
        if not message.to:
            return DeliveryOutcome(OutcomeKind.FAILED, error="no recipient")
        mime = mime_message(message, default_sender=self._sender)
        try:
            answer = await asyncio.to_thread(
                self._client.send_email,
                FromEmailAddress=str(mime["From"]),
                Destination={"ToAddresses": list(message.to)},
                Content={"Raw": {"Data": mime.as_bytes()}},
            )
        except Exception as exc:  # botocore's errors are mapped; anything else re-raises
            return aws_failure(exc)
        return DeliveryOutcome.sent(answer.get("MessageId"))

    async def aclose(self) -> None:
        self._client.close()
