"""SMS through Amazon SNS (``Publish`` with a ``PhoneNumber``).

https://docs.aws.amazon.com/sns/latest/api/API_Publish.html; the sender id and SMS type are
the ``AWS.SNS.SMS.*`` message attributes (https://docs.aws.amazon.com/sns/latest/dg/sms_publish-to-phone.html).
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from hangar.messaging.adapters.aws import aws_client, aws_failure
from hangar.messaging.adapters.base import DeliveryOutcome, OutcomeKind, SmsMessage

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


class SnsSmsProvider:
    name = "sns"

    def __init__(
        self, *, access_key_id: str, secret_access_key: str, region: str, endpoint_url: str | None = None,
        sender_id: str = "", sms_type: str = "Transactional", proxy: str | None = None, timeout: float = 10.0,
    ) -> None:  # fmt: skip
        self._client = aws_client(
            "sns", access_key_id=access_key_id, secret_access_key=secret_access_key, region=region,
            endpoint_url=endpoint_url, proxy=proxy, timeout=timeout,
        )  # fmt: skip
        self._sender_id = sender_id
        self._sms_type = sms_type

    def publish_arguments(self, message: SmsMessage) -> dict[str, Any]:
        attributes = {"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": self._sms_type}}
        sender = message.sender or self._sender_id
        if sender:
            attributes["AWS.SNS.SMS.SenderID"] = {"DataType": "String", "StringValue": sender}
        return {"PhoneNumber": message.to, "Message": message.body, "MessageAttributes": attributes}

    async def send_sms(self, message: SmsMessage) -> DeliveryOutcome:
        if not _E164.match(message.to):
            return DeliveryOutcome(OutcomeKind.INVALID_TOKEN, error="not an E.164 number")
        try:
            answer = await asyncio.to_thread(self._client.publish, **self.publish_arguments(message))
        except Exception as exc:  # botocore's errors are mapped; anything else re-raises
            return aws_failure(exc)
        return DeliveryOutcome.sent(answer.get("MessageId"))

    async def aclose(self) -> None:
        self._client.close()
