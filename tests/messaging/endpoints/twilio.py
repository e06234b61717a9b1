"""A local Twilio Messaging API: ``POST /2010-04-01/Accounts/{sid}/Messages.json``.

Checks HTTP basic auth (account SID, or an API key SID, and its secret), the form fields
(To, Body, From or MessagingServiceSid) and answers with Twilio's error bodies
(https://www.twilio.com/docs/api/errors).

    python -m tests.messaging.endpoints.twilio --port 9101
"""

from __future__ import annotations

import argparse
import base64
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qs

from tests.messaging.endpoints.http_server import Request, Response, ServedEndpoint, serve_forever

_MESSAGES_PATH = re.compile(r"^/2010-04-01/Accounts/(AC[0-9a-f]{32})/Messages\.json$")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def twilio_error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> Response:
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return Response(status, body, headers)


@dataclass
class TwilioEndpoint(ServedEndpoint):
    port: int = 0
    accounts: dict[str, str] = field(default_factory=dict)  # account SID -> auth token
    api_keys: dict[str, tuple[str, str]] = field(default_factory=dict)  # key SID -> (account SID, secret)
    numbers: set[str] = field(default_factory=set)  # the accounts' sender numbers
    landlines: set[str] = field(default_factory=set)  # answered 21614 (not a mobile number)
    too_many_remaining: int = 0
    received: list[dict[str, str]] = field(default_factory=list)

    def account(self, sender: str = "+15005550006") -> tuple[str, str]:
        """A new (account SID, auth token) that may send from ``sender``."""
        sid, token = f"AC{secrets.token_hex(16)}", secrets.token_hex(16)
        self.accounts[sid] = token
        self.numbers.add(sender)
        return sid, token

    def _authenticated(self, request: Request, account_sid: str) -> bool:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme != "Basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except ValueError:
            return False
        if user.startswith("SK"):
            owner, secret = self.api_keys.get(user, ("", ""))
            return owner == account_sid and secrets.compare_digest(secret, password)
        return user == account_sid and secrets.compare_digest(self.accounts.get(user, "\x00"), password)

    async def handle(self, request: Request) -> Response:
        match = _MESSAGES_PATH.match(request.path)
        if match is None or request.method != "POST":
            return twilio_error(404, 20404, "The requested resource was not found")
        if not self._authenticated(request, match.group(1)):
            return twilio_error(401, 20003, "Authenticate")
        if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return twilio_error(400, 20001, "Unsupported Content-Type")
        form = {k: v[0] for k, v in parse_qs(request.body.decode(), keep_blank_values=True).items()}
        problem = self._form_problem(form)
        if problem is not None:
            return problem
        if self.too_many_remaining > 0:
            self.too_many_remaining -= 1
            return twilio_error(429, 20429, "Too Many Requests", {"retry-after": "3"})
        self.received.append(form)
        now = format_datetime(datetime.now(UTC), usegmt=True)
        return Response(201, self._message(match.group(1), form, now))

    def _form_problem(self, form: dict[str, str]) -> Response | None:
        to = form.get("To", "")
        if not to:
            return twilio_error(400, 21604, "A 'To' phone number is required.")
        if not form.get("Body"):
            return twilio_error(400, 21602, "Message body is required.")
        if not _E164.match(to):
            return twilio_error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if to in self.landlines:
            return twilio_error(400, 21614, f"'To' number {to} is not a valid mobile number")
        sender, service = form.get("From", ""), form.get("MessagingServiceSid", "")
        if not sender and not service:
            return twilio_error(400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required")
        if sender and sender not in self.numbers:
            return twilio_error(400, 21606, f"The From phone number {sender} is not a valid, SMS-capable number")
        if len(form["Body"]) > 1600:
            return twilio_error(400, 21617, "The concatenated message body exceeds the 1600 character limit")
        return None

    @staticmethod
    def _message(account_sid: str, form: dict[str, str], now: str) -> dict[str, Any]:
        sid = f"SM{secrets.token_hex(16)}"
        return {
            "sid": sid, "account_sid": account_sid, "to": form["To"], "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"), "body": form["Body"], "status": "queued",
            "num_segments": "1", "direction": "outbound-api", "date_created": now, "date_updated": now,
            "uri": f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json", "error_code": None,
        }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    endpoint = TwilioEndpoint(port=args.port)
    sid, token = endpoint.account()
    print(f"account_sid={sid} auth_token={token}", flush=True)
    serve_forever(endpoint.handle, args.port)


if __name__ == "__main__":
    main()
