"""A local Web Push service (RFC 8030): decrypts each message with the subscription's private key.

``subscribe()`` plays the browser: it makes a P-256 key pair and an auth secret and returns
the PushSubscription JSON. A POST to the subscription's endpoint must carry a VAPID
authorization (RFC 8292: an ES256 JWT for this origin, signed by the key the subscription was
made with), ``TTL`` and ``Content-Encoding: aes128gcm``; the body is decrypted (RFC 8291) and
the plaintext recorded.

    python -m tests.messaging.endpoints.webpush --port 9102

In that mode ``POST /_subscribe`` with ``{"application_server_key": <VAPID public key>}``
answers a new PushSubscription, and ``GET /_received`` lists the decrypted messages.
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import http_ece
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from hangar.messaging.adapters.vapid import b64url_decode, b64url_encode
from tests.messaging.endpoints.http_server import Request, Response, ServedEndpoint, serve_forever

_PUSH_PATH = re.compile(r"^/push/([A-Za-z0-9_-]+)$")
_VAPID = re.compile(r"^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$")


@dataclass
class Subscription:
    private_key: ec.EllipticCurvePrivateKey
    auth_secret: bytes
    application_server_key: str  # the VAPID public key the subscription was made for


@dataclass
class WebPushEndpoint(ServedEndpoint):
    port: int = 0
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    gone: set[str] = field(default_factory=set)  # answered 410 (the user unsubscribed)
    unavailable_remaining: int = 0
    received: list[dict[str, Any]] = field(default_factory=list)  # {"id", "payload", "ttl", "urgency"}

    def subscribe(self, application_server_key: str) -> str:
        """A browser's PushSubscription JSON for this service, made for the given VAPID public key."""
        sub_id = secrets.token_urlsafe(12)
        key = ec.generate_private_key(ec.SECP256R1())
        auth = secrets.token_bytes(16)
        self.subscriptions[sub_id] = Subscription(key, auth, application_server_key)
        public = key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        keys = {"p256dh": b64url_encode(public), "auth": b64url_encode(auth)}
        return json.dumps({"endpoint": f"{self.url}/push/{sub_id}", "keys": keys})

    @staticmethod
    def subscription_id(subscription_json: str) -> str:
        return str(json.loads(subscription_json)["endpoint"]).rsplit("/", 1)[1]

    async def handle(self, request: Request) -> Response:
        if request.path == "/_subscribe" and request.method == "POST":  # a browser, for another process
            try:
                return Response(200, json.loads(self.subscribe(str(request.json()["application_server_key"]))))
            except (ValueError, KeyError, TypeError):
                return Response(400, {"reason": "expected {application_server_key}"})
        if request.path == "/_received" and request.method == "GET":
            return Response(200, self.received)
        match = _PUSH_PATH.match(request.path)
        if request.method != "POST" or match is None:
            return Response(404)
        sub_id = match.group(1)
        if sub_id in self.gone:
            return Response(410, {"reason": "subscription expired or unsubscribed"})
        subscription = self.subscriptions.get(sub_id)
        if subscription is None:
            return Response(404, {"reason": "no such subscription"})
        problem = self._vapid_problem(request, subscription)
        if problem is not None:
            return problem
        if request.headers.get("content-encoding") != "aes128gcm":
            return Response(415, {"reason": "Content-Encoding must be aes128gcm"})
        ttl = request.headers.get("ttl", "")
        if not ttl.isdigit():
            return Response(400, {"reason": "TTL header required"})
        urgency = request.headers.get("urgency", "normal")
        if urgency not in ("very-low", "low", "normal", "high"):
            return Response(400, {"reason": "bad Urgency"})
        try:
            plaintext = http_ece.decrypt(
                request.body, private_key=subscription.private_key, auth_secret=subscription.auth_secret,
                version="aes128gcm",
            )  # fmt: skip
            payload = json.loads(plaintext)
        except Exception:  # a body that does not decrypt (wrong key, truncated) is the sender's fault
            return Response(400, {"reason": "payload could not be decrypted"})
        if self.unavailable_remaining > 0:
            self.unavailable_remaining -= 1
            return Response(503, {"reason": "busy"}, {"retry-after": "5"})
        self.received.append({"id": sub_id, "payload": payload, "ttl": int(ttl), "urgency": urgency})
        return Response(201, None, {"location": f"{self.url}/message/{secrets.token_hex(8)}"})

    def _vapid_problem(self, request: Request, subscription: Subscription) -> Response | None:
        match = _VAPID.match(request.headers.get("authorization", ""))
        if match is None:
            return Response(401, {"reason": "VAPID authorization required"})
        token, key = match.groups()
        if key != subscription.application_server_key:
            return Response(403, {"reason": "key does not match the subscription's applicationServerKey"})
        try:
            public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(key))
            claims = jwt.decode(
                token, public, algorithms=["ES256"], audience=self.url, options={"require": ["exp", "aud"]}
            )
        except (jwt.PyJWTError, ValueError):
            return Response(401, {"reason": "invalid VAPID JWT"})
        if int(claims["exp"]) > time.time() + 24 * 3600:
            return Response(401, {"reason": "VAPID JWT valid for more than 24 hours"})
        if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
            return Response(401, {"reason": "VAPID sub must be a mailto: or https: URL"})
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    endpoint = WebPushEndpoint(port=args.port)
    serve_forever(endpoint.handle, args.port)


if __name__ == "__main__":
    main()
