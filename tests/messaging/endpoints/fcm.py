"""A local FCM HTTP v1 server: Google's OAuth token endpoint for service accounts, and ``messages:send``.

The token endpoint verifies the RS256 JWT assertion with the service account's public key
(https://developers.google.com/identity/protocols/oauth2/service-account#authorizingrequests)
and issues bearer tokens; ``messages:send`` checks the bearer token and project, the message
shape (one target; string-only ``data``) and the device token, and answers with FCM's error
bodies (https://firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode).

    python -m tests.messaging.endpoints.fcm --port 9100 --service-account-out var/fcm-sa.json

In that mode ``GET /_stats`` counts what arrived: messages, distinct tokens, tokens received
more than once, tokens received under more than one ``android.collapse_key`` (a resend that
is not the same notification), the wall-clock times of the first and last message, and
token requests; ``POST /_reset`` forgets it, and ``POST /_configure`` with
``{"unregistered": [...], "unavailable": n}`` sets the failures to answer. ``--delay S``
holds each send S seconds (a distant provider).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import secrets
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.messaging.endpoints.http_server import Request, Response, ServedEndpoint, serve_forever

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
_SEND_PATH = re.compile(r"^/v1/projects/([^/]+)/messages:send$")
_TTL = re.compile(r"^\d+(\.\d{1,9})?s$")


def fcm_error(status_code: int, status: str, message: str, error_code: str = "", **extra: Any) -> Response:
    details: list[dict[str, Any]] = []
    if error_code:
        details.append({"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": error_code})
    if extra.get("field"):
        details.append({
            "@type": "type.googleapis.com/google.rpc.BadRequest",
            "fieldViolations": [{"field": extra["field"], "description": message}],
        })  # fmt: skip
    body = {"error": {"code": status_code, "message": message, "status": status, "details": details}}
    return Response(status_code, body, extra.get("headers"))


@dataclass
class FcmEndpoint(ServedEndpoint):
    port: int = 0
    # client_email -> (public key PEM, project_id)
    accounts: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    access_tokens: dict[str, tuple[str, float]] = field(default_factory=dict)  # token -> (client_email, expires)
    token_lifetime_seconds: int = 3600
    unregistered: set[str] = field(default_factory=set)
    unavailable_remaining: int = 0  # the next N sends answer 503 UNAVAILABLE
    quota_remaining: int = 0  # the next N sends answer 429 QUOTA_EXCEEDED
    retry_after: str = "7"
    keep_messages: bool = True  # the benchmark only counts
    received: list[dict[str, Any]] = field(default_factory=list)
    per_token: Counter[str] = field(default_factory=Counter)
    collapse_keys: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    delay_seconds: float = 0.0  # each send is held this long (a provider far away)
    first_at: float | None = None
    last_at: float | None = None
    token_requests: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self.received.clear()
            self.per_token.clear()
            self.collapse_keys.clear()
            self.first_at = self.last_at = None
            self.rejected.clear()
            self.unregistered.clear()
            self.unavailable_remaining = self.quota_remaining = self.token_requests = 0

    def service_account(self, project_id: str = "hangar-test") -> dict[str, str]:
        """A new service account of this server, as the JSON key file Firebase hands out."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        email = f"firebase-adminsdk-{secrets.token_hex(3)}@{project_id}.iam.gserviceaccount.com"
        public = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.accounts[email] = (public, project_id)
        private = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return {
            "type": "service_account", "project_id": project_id, "private_key_id": secrets.token_hex(20),
            "private_key": private.decode(), "client_email": email, "client_id": str(secrets.randbelow(10**20)),
            "auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": f"{self.url}/token",
        }  # fmt: skip

    def revoke_access_tokens(self) -> None:
        self.access_tokens.clear()

    async def handle(self, request: Request) -> Response:
        if request.method == "POST" and request.path == "/token":
            return self._token(request)
        match = _SEND_PATH.match(request.path)
        if request.method == "POST" and match:
            if self.delay_seconds:
                await asyncio.sleep(self.delay_seconds)
            response = self._send(request, match.group(1))
            if response.status != 200:
                self.rejected.append((response.status, response.body.decode()))
            return response
        if request.method == "GET" and request.path == "/_stats":
            return Response(200, self.stats())
        if request.method == "POST" and request.path == "/_reset":
            self.reset()
            return Response(204)
        if request.method == "POST" and request.path == "/_configure":
            return self._configure(request)
        return fcm_error(404, "NOT_FOUND", "Not found")

    def stats(self) -> dict[str, Any]:
        with self._lock:
            counts = list(self.per_token.values())
            keys = [len(k) for k in self.collapse_keys.values()]
            first_at, last_at = self.first_at, self.last_at
        duplicates = sum(c > 1 for c in counts)
        return {
            "received": sum(counts), "tokens": len(counts), "duplicates": duplicates,
            "tokens_under_two_collapse_keys": sum(n > 1 for n in keys), "tokens_without_collapse_key":
            len(counts) - len(keys), "first_at": first_at, "last_at": last_at, "token_requests": self.token_requests,
        }  # fmt: skip

    def _configure(self, request: Request) -> Response:
        """For a server in another process: ``{"unregistered": [tokens], "unavailable": n, "quota": n}``."""
        try:
            settings = request.json()
            self.unregistered.update(str(token) for token in settings.get("unregistered", []))
            self.unavailable_remaining = int(settings.get("unavailable", self.unavailable_remaining))
            self.quota_remaining = int(settings.get("quota", self.quota_remaining))
        except (ValueError, TypeError, AttributeError):
            return Response(400, {"error": "expected {unregistered, unavailable, quota}"})
        return Response(204)

    def _token(self, request: Request) -> Response:
        if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return Response(400, {"error": "invalid_request", "error_description": "form body expected"})
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        if form.get("grant_type") != GRANT_TYPE:
            return Response(400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type"})
        assertion = form.get("assertion", "")
        try:
            issuer = str(jwt.decode(assertion, options={"verify_signature": False})["iss"])
            public_key, _project = self.accounts[issuer]
            claims = jwt.decode(
                assertion, public_key, algorithms=["RS256"], audience=f"{self.url}/token",
                options={"require": ["iss", "aud", "iat", "exp", "scope"]},
            )  # fmt: skip
        except (jwt.PyJWTError, KeyError):
            return Response(400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
        if int(claims["exp"]) - int(claims["iat"]) > 3600 or SCOPE not in str(claims["scope"]).split():
            return Response(400, {"error": "invalid_scope", "error_description": "Invalid scope or lifetime."})
        token = f"ya29.{secrets.token_urlsafe(32)}"
        self.access_tokens[token] = (issuer, time.time() + self.token_lifetime_seconds)
        self.token_requests += 1
        return Response(200, {"access_token": token, "expires_in": self.token_lifetime_seconds, "token_type": "Bearer"})

    def _send(self, request: Request, project_id: str) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        holder = self.access_tokens.get(token) if scheme == "Bearer" else None
        if holder is None or holder[1] < time.time():
            return fcm_error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
        if self.accounts[holder[0]][1] != project_id:
            return fcm_error(403, "PERMISSION_DENIED", "Permission denied on the project.", "SENDER_ID_MISMATCH")
        if not request.headers.get("content-type", "").startswith("application/json"):
            return fcm_error(400, "INVALID_ARGUMENT", "Content-Type must be application/json")
        try:
            message = request.json()["message"]
            problem = _message_problem(message)
        except (ValueError, KeyError, TypeError):
            return fcm_error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
        if problem:
            return fcm_error(400, "INVALID_ARGUMENT", problem[1], "INVALID_ARGUMENT", field=problem[0])
        device = str(message.get("token") or "")
        if device and (len(device) < 8 or any(c.isspace() for c in device)):
            return fcm_error(
                400, "INVALID_ARGUMENT", "The registration token is not a valid FCM registration token",
                "INVALID_ARGUMENT", field="message.token",
            )  # fmt: skip
        with self._lock:
            if self.unavailable_remaining > 0:
                self.unavailable_remaining -= 1
                return fcm_error(503, "UNAVAILABLE", "The service is currently unavailable.", "UNAVAILABLE",
                                 headers={"retry-after": self.retry_after})  # fmt: skip
            if self.quota_remaining > 0:
                self.quota_remaining -= 1
                return fcm_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded.", "QUOTA_EXCEEDED",
                                 headers={"retry-after": self.retry_after})  # fmt: skip
        if device in self.unregistered:
            return fcm_error(404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED")
        collapse_key = (message.get("android") or {}).get("collapse_key")
        with self._lock:
            self.per_token[device] += 1
            if collapse_key:
                self.collapse_keys[device].add(str(collapse_key))
            self.last_at = time.time()
            self.first_at = self.first_at or self.last_at
            if self.keep_messages:
                self.received.append(message)
        return Response(200, {"name": f"projects/{project_id}/messages/{secrets.token_hex(8)}"})


def _string_map(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())


def _message_problem(message: Any) -> tuple[str, str] | None:
    """(field, description) of the first thing FCM would refuse in a v1 message, None when it is valid."""
    if not isinstance(message, dict):
        return "message", "message must be an object"
    targets = [k for k in ("token", "topic", "condition") if message.get(k)]
    if len(targets) != 1:
        return "message", "Exactly one of token, topic or condition must be specified"
    if "data" in message and not _string_map(message["data"]):
        return "message.data", "data values must be strings"
    android = message.get("android")
    if android is not None:
        if not isinstance(android, dict):
            return "message.android", "android must be an object"
        if "data" in android and not _string_map(android["data"]):
            return "message.android.data", "data values must be strings"
        if android.get("priority", "normal") not in ("normal", "high"):
            return "message.android.priority", "Invalid value"
        if "ttl" in android and not (isinstance(android["ttl"], str) and _TTL.match(android["ttl"])):
            return "message.android.ttl", "Invalid duration"
    apns = message.get("apns")
    if apns is not None:
        payload = apns.get("payload") if isinstance(apns, dict) else None
        if not isinstance(payload, dict) or not isinstance(payload.get("aps", {}), dict):
            return "message.apns.payload", "apns.payload.aps must be an object"
        if "headers" in apns and not _string_map(apns["headers"]):
            return "message.apns.headers", "header values must be strings"
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--service-account-out", type=Path, help="write a service account of this server here")
    parser.add_argument("--project-id", default="hangar-bench")
    parser.add_argument("--keep-messages", action="store_true", help="keep every message (memory grows)")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds to hold each send (a slower provider)")
    args = parser.parse_args()
    endpoint = FcmEndpoint(port=args.port, keep_messages=args.keep_messages, delay_seconds=args.delay)
    if args.service_account_out:
        args.service_account_out.write_text(json.dumps(endpoint.service_account(args.project_id)))
    serve_forever(endpoint.handle, args.port)


if __name__ == "__main__":
    main()
