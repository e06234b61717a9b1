"""SMS through Twilio's Programmable Messaging REST API.

https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource
Basic auth with the account SID and auth token (or an API key SID and secret); error codes
from https://www.twilio.com/docs/api/errors.
"""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, urlencode

from hangar.egress import EgressError, egress_request
from hangar.messaging.adapters.base import DeliveryOutcome, OutcomeKind, SmsMessage
from hangar.messaging.adapters.outcomes import egress_failure, retry_after_seconds

DEFAULT_BASE_URL = "https://api.twilio.com"
# The number will never take a message from this sender: invalid, not a mobile, or it sent STOP.
_INVALID_ADDRESS_CODES = {21211, 21614, 21610, 21612}
_RETRY_CODES = {20429, 20500, 20503}


class TwilioSmsProvider:
    name = "twilio"

    def __init__(
        self, *, account_sid: str, auth_token: str, sender: str = "", messaging_service_sid: str = "",
        api_key_sid: str = "", base_url: str = DEFAULT_BASE_URL,
    ) -> None:  # fmt: skip
        self._url = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{quote(account_sid, safe='')}/Messages.json"
        user = api_key_sid or account_sid
        self._authorization = "Basic " + base64.b64encode(f"{user}:{auth_token}".encode()).decode()
        self._sender = sender
        self._messaging_service_sid = messaging_service_sid

    def form_for(self, message: SmsMessage) -> dict[str, str]:
        form = {"To": message.to, "Body": message.body}
        sender = message.sender or self._sender
        if sender:
            form["From"] = sender
        elif self._messaging_service_sid:
            form["MessagingServiceSid"] = self._messaging_service_sid
        return form

    async def send_sms(self, message: SmsMessage) -> DeliveryOutcome:
        try:
            response = await egress_request(
                "POST", self._url, content=urlencode(self.form_for(message)).encode(), keep_alive=True,
                headers={"Authorization": self._authorization, "Content-Type": "application/x-www-form-urlencoded"},
            )  # fmt: skip
        except EgressError as exc:
            return egress_failure(exc)
        try:
            answer = json.loads(response.content)
            code = int(answer.get("code") or 0) if isinstance(answer, dict) else 0
        except (ValueError, TypeError):
            answer, code = {}, 0
        if response.status_code in (200, 201):
            return DeliveryOutcome.sent(str(answer.get("sid") or "") or None)
        reason = f"twilio {code}" if code else f"http {response.status_code}"
        if code in _INVALID_ADDRESS_CODES:
            return DeliveryOutcome(OutcomeKind.INVALID_TOKEN, error=reason)
        if code in _RETRY_CODES or response.status_code == 429 or response.status_code >= 500:
            retry_after = retry_after_seconds(response.headers)
            return DeliveryOutcome(OutcomeKind.RETRY, error=reason, retry_after_seconds=retry_after)
        return DeliveryOutcome(OutcomeKind.FAILED, error=reason)

    async def aclose(self) -> None:
        return None
