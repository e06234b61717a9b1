"""The Twilio adapter against the local Messaging API: basic auth, form fields, error codes."""

from __future__ import annotations

import pytest

from hangar.messaging.adapters.base import OutcomeKind, SmsMessage
from hangar.messaging.adapters.twilio import TwilioSmsProvider
from tests.messaging.endpoints.twilio import TwilioEndpoint

pytestmark = pytest.mark.asyncio


def provider_for(twilio: TwilioEndpoint, **kwargs: str) -> TwilioSmsProvider:
    sid, token = twilio.account(sender="+15005550006")
    return TwilioSmsProvider(
        account_sid=sid, auth_token=token, base_url=twilio.url, **{"sender": "+15005550006", **kwargs}
    )


async def test_an_sms_is_posted_as_the_form_twilio_expects(twilio_endpoint: TwilioEndpoint) -> None:
    outcome = await provider_for(twilio_endpoint).send_sms(SmsMessage(to="+14155550100", body="Your code is 123456"))
    assert outcome.kind is OutcomeKind.SENT
    assert outcome.provider_message_id
    assert outcome.provider_message_id.startswith("SM")
    assert twilio_endpoint.received[-1] == {"To": "+14155550100", "From": "+15005550006", "Body": "Your code is 123456"}


async def test_a_messaging_service_replaces_the_sender(twilio_endpoint: TwilioEndpoint) -> None:
    provider = provider_for(twilio_endpoint, sender="", messaging_service_sid="MG" + "0" * 32)
    outcome = await provider.send_sms(SmsMessage(to="+14155550101", body="hi"))
    assert outcome.kind is OutcomeKind.SENT
    assert twilio_endpoint.received[-1]["MessagingServiceSid"] == "MG" + "0" * 32
    assert "From" not in twilio_endpoint.received[-1]


async def test_bad_numbers_are_invalid_addresses(twilio_endpoint: TwilioEndpoint) -> None:
    provider = provider_for(twilio_endpoint)
    twilio_endpoint.landlines.add("+14155550199")
    assert (await provider.send_sms(SmsMessage(to="4155550100", body="x"))).error == "twilio 21211"
    landline = await provider.send_sms(SmsMessage(to="+14155550199", body="x"))
    assert (landline.kind, landline.error) == (OutcomeKind.INVALID_TOKEN, "twilio 21614")


async def test_wrong_credentials_fail_and_throttling_retries(twilio_endpoint: TwilioEndpoint) -> None:
    sid, _token = twilio_endpoint.account()
    wrong = TwilioSmsProvider(account_sid=sid, auth_token="nope", sender="+15005550006", base_url=twilio_endpoint.url)
    outcome = await wrong.send_sms(SmsMessage(to="+14155550100", body="x"))
    assert (outcome.kind, outcome.error) == (OutcomeKind.FAILED, "twilio 20003")
    twilio_endpoint.too_many_remaining = 1
    outcome = await provider_for(twilio_endpoint).send_sms(SmsMessage(to="+14155550100", body="x"))
    assert (outcome.kind, outcome.error, outcome.retry_after_seconds) == (OutcomeKind.RETRY, "twilio 20429", 3.0)


async def test_an_unknown_sender_is_a_failure_not_an_invalid_recipient(twilio_endpoint: TwilioEndpoint) -> None:
    outcome = await provider_for(twilio_endpoint).send_sms(
        SmsMessage(to="+14155550100", body="x", sender="+19999999999")
    )
    assert (outcome.kind, outcome.error) == (OutcomeKind.FAILED, "twilio 21606")
