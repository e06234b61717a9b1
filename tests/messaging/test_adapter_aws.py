"""The SNS (SMS) and SES (email) adapters against the moto server process (the S3 tests' fixture)."""

from __future__ import annotations

import email
import uuid
from typing import Any

import boto3
import httpx
import pytest

from hangar.messaging.adapters.base import EmailMessage, OutcomeKind, SmsMessage
from hangar.messaging.adapters.ses import SesEmailProvider
from hangar.messaging.adapters.sns import SnsSmsProvider
from tests.files.conftest import MotoServer

pytestmark = pytest.mark.asyncio

KEYS = {"access_key_id": "testing", "secret_access_key": "testing", "region": "eu-west-1"}


def moto_models(moto: MotoServer, service: str, model: str) -> list[dict[str, Any]]:
    return list(httpx.get(f"{moto.endpoint_url}/moto-api/data.json").json()[service][model])


async def test_an_sms_is_published_to_the_phone_number(moto_server: MotoServer) -> None:
    provider = SnsSmsProvider(**KEYS, endpoint_url=moto_server.endpoint_url, sender_id="Hangar")
    number = f"+1415555{uuid.uuid4().int % 10000:04d}"
    outcome = await provider.send_sms(SmsMessage(to=number, body="code 424242"))
    assert outcome.kind is OutcomeKind.SENT
    sent = [m for m in moto_models(moto_server, "sns", "SMS") if m["message_id"] == outcome.provider_message_id]
    assert sent == [{"message": "code 424242", "message_id": outcome.provider_message_id, "phone_number": number}]
    assert provider.publish_arguments(SmsMessage(to=number, body="x"))["MessageAttributes"]["AWS.SNS.SMS.SenderID"] == {
        "DataType": "String", "StringValue": "Hangar",
    }  # fmt: skip
    await provider.aclose()


async def test_a_number_that_is_not_e164_is_invalid_without_a_request(moto_server: MotoServer) -> None:
    provider = SnsSmsProvider(**KEYS, endpoint_url=moto_server.endpoint_url)
    outcome = await provider.send_sms(SmsMessage(to="0612345678", body="x"))
    assert outcome.kind is OutcomeKind.INVALID_TOKEN


async def test_an_unreachable_aws_endpoint_is_retried() -> None:
    provider = SnsSmsProvider(**KEYS, endpoint_url="http://127.0.0.1:9", timeout=2)
    outcome = await provider.send_sms(SmsMessage(to="+14155550100", body="x"))
    assert outcome.kind is OutcomeKind.RETRY


async def test_an_email_is_sent_as_raw_mime_from_a_verified_sender(moto_server: MotoServer) -> None:
    sender = f"app-{uuid.uuid4().hex[:8]}@example.com"
    ses = boto3.client(
        "sesv2", endpoint_url=moto_server.endpoint_url, region_name="eu-west-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip
    ses.create_email_identity(EmailIdentity=sender)
    provider = SesEmailProvider(**KEYS, endpoint_url=moto_server.endpoint_url, sender=f"My App <{sender}>")
    message = EmailMessage(to=["user@example.org"], subject="Welcome", text="Hello there", html="<p>Hello there</p>",
                           reply_to="help@example.com", headers={"X-Campaign": "c1"})  # fmt: skip
    outcome = await provider.send_email(message)
    assert outcome.kind is OutcomeKind.SENT
    [raw] = [m for m in moto_models(moto_server, "ses", "RawMessage") if m["id"] == outcome.provider_message_id]
    parsed = email.message_from_string(raw["raw_data"])
    assert parsed["Subject"] == "Welcome"
    assert parsed["To"] == "user@example.org"
    assert parsed["X-Campaign"] == "c1"
    assert parsed["From"] == f"My App <{sender}>"
    assert parsed["Reply-To"] == "help@example.com"
    assert {part.get_content_type() for part in parsed.walk()} >= {"text/plain", "text/html"}


async def test_an_unverified_sender_is_a_failure(moto_server: MotoServer) -> None:
    provider = SesEmailProvider(**KEYS, endpoint_url=moto_server.endpoint_url, sender="nobody@unverified.example")
    outcome = await provider.send_email(EmailMessage(to=["user@example.org"], subject="s", text="t"))
    assert outcome.kind is OutcomeKind.FAILED
    assert outcome.error
    assert outcome.error.startswith("aws ")


async def test_boto3_is_given_the_egress_proxy(settings: Any) -> None:
    """boto3 cannot go through hangar.egress; it still leaves through the operator's proxy."""
    from asgiref.sync import sync_to_async

    from hangar.messaging import providers

    settings.HANGAR_EGRESS_PROXY = "http://proxy.internal:3128"
    settings.HANGAR_AWS_ENDPOINT_URL = "http://aws.internal:4566"
    provider = await sync_to_async(providers._built_provider)("sns", {**KEYS, "sender_id": ""})
    client = provider._client
    assert client.meta.config.proxies == {"http": "http://proxy.internal:3128", "https": "http://proxy.internal:3128"}
    assert client.meta.endpoint_url == "http://aws.internal:4566"
