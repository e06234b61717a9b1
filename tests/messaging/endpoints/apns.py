"""A local APNs: HTTP/2 over TLS (ALPN ``h2``), provider-token authentication, Apple's error reasons.

https://developer.apple.com/documentation/usernotifications/sending-notification-requests-to-apns
and .../handling-notification-responses-from-apns: the ES256 JWT (``kid`` of a registered
.p8 key, ``iss`` its team, ``iat`` less than an hour old), ``apns-topic`` one of the team's
bundle ids, ``apns-push-type`` / ``apns-priority`` / ``apns-id`` / ``apns-expiration`` /
``apns-collapse-id`` as documented, a 64-hex device token, a JSON payload with ``aps`` of at
most 4 KB; 410 ``Unregistered`` for tokens told so.

    python -m tests.messaging.endpoints.apns --port 9103 --certs var/apns-certs
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import secrets
import ssl
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h2.config
import h2.connection
import h2.events
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.messaging.endpoints.http_server import bound_socket
from tests.messaging.endpoints.tls import local_certificates

_DEVICE_PATH = re.compile(r"^/3/device/([^/]+)$")
_TOKEN = re.compile(r"^[0-9a-fA-F]{64,200}$")
_PUSH_TYPES = {"alert", "background", "voip", "complication", "fileprovider", "mdm", "location", "liveactivity"}
PAYLOAD_LIMIT = 4096


@dataclass
class ApnsRequest:
    headers: dict[str, str]
    token: str
    payload: dict[str, Any]


@dataclass
class ApnsEndpoint:
    certs_dir: Path
    port: int = 0
    keys: dict[str, tuple[str, ec.EllipticCurvePublicKey]] = field(default_factory=dict)  # kid -> (team, key)
    topics: dict[str, set[str]] = field(default_factory=dict)  # team -> bundle ids
    unregistered: set[str] = field(default_factory=set)
    unavailable_remaining: int = 0
    too_many_remaining: int = 0
    tokens_issued_before_expire: float = 0.0  # provider tokens with an older iat answer ExpiredProviderToken
    received: list[ApnsRequest] = field(default_factory=list)
    per_token: Counter[str] = field(default_factory=Counter)
    protocols: list[str] = field(default_factory=list)  # the ALPN protocol of each connection

    def __post_init__(self) -> None:
        self.ca_path, cert, key = local_certificates(self.certs_dir)
        self._ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._ssl.load_cert_chain(cert, key)
        self._ssl.set_alpn_protocols(["h2"])
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._sock = bound_socket(self.port)
        self.port = int(self._sock.getsockname()[1])

    @property
    def url(self) -> str:
        return f"https://localhost:{self.port}"

    def signing_key(self, team_id: str = "TEAM123456", topic: str = "com.example.app") -> tuple[str, str]:
        """A new .p8 key of ``team_id`` (allowed to push to ``topic``): (key id, PEM)."""
        key = ec.generate_private_key(ec.SECP256R1())
        key_id = secrets.token_hex(5).upper()
        self.keys[key_id] = (team_id, key.public_key())
        self.topics.setdefault(team_id, set()).add(topic)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return key_id, pem.decode()

    def start(self) -> ApnsEndpoint:
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            server = self._loop.run_until_complete(
                self._loop.create_server(lambda: _H2Protocol(self), sock=self._sock, ssl=self._ssl)
            )
            ready.set()
            try:
                self._loop.run_forever()
            finally:
                server.close()
                self._loop.run_until_complete(server.wait_closed())
                self._loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the APNs endpoint did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)

    def answer(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        """(status, headers, body) APNs would answer."""
        apns_id = headers.get("apns-id") or str(uuid.uuid4()).upper()
        reason = self._refusal(method, path, headers, body)
        if reason is not None:
            status, text = reason
            extra: dict[str, Any] = {"timestamp": int(time.time() * 1000)} if status == 410 else {}
            out = {"apns-id": apns_id, "content-type": "application/json"}
            if status in (429, 503):
                out["retry-after"] = "4"
            return status, out, json.dumps({"reason": text, **extra}).encode()
        token = _DEVICE_PATH.match(path).group(1)  # type: ignore[union-attr]
        self.per_token[token] += 1
        self.received.append(ApnsRequest(headers, token, json.loads(body)))
        return 200, {"apns-id": apns_id}, b""

    def _refusal(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, str] | None:
        if method != "POST":
            return 405, "MethodNotAllowed"
        match = _DEVICE_PATH.match(path)
        if match is None:
            return 404, "BadPath"
        team = self._team_of(headers)
        if isinstance(team, tuple):
            return team
        topic = headers.get("apns-topic", "")
        if not topic:
            return 400, "MissingTopic"
        if topic not in self.topics.get(team, set()):
            return 400, "TopicDisallowed"
        problem = _header_problem(headers)
        if problem:
            return 400, problem
        if not _TOKEN.match(match.group(1)):
            return 400, "BadDeviceToken"
        if len(body) > PAYLOAD_LIMIT:
            return 413, "PayloadTooLarge"
        try:
            payload = json.loads(body)
        except ValueError:
            return 400, "PayloadEmpty" if not body else "BadPayload"
        if not isinstance(payload, dict) or not isinstance(payload.get("aps"), dict):
            return 400, "BadPayload"
        if self.unavailable_remaining > 0:
            self.unavailable_remaining -= 1
            return 503, "ServiceUnavailable"
        if self.too_many_remaining > 0:
            self.too_many_remaining -= 1
            return 429, "TooManyRequests"
        if match.group(1) in self.unregistered:
            return 410, "Unregistered"
        return None

    def _team_of(self, headers: dict[str, str]) -> str | tuple[int, str]:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return 403, "MissingProviderToken"
        try:
            kid = str(jwt.get_unverified_header(token).get("kid", ""))
            team, key = self.keys[kid]
            claims = jwt.decode(
                token, key, algorithms=["ES256"], options={"require": ["iss", "iat"], "verify_iat": False}
            )
        except (jwt.PyJWTError, KeyError):
            return 403, "InvalidProviderToken"
        if claims["iss"] != team:
            return 403, "InvalidProviderToken"
        issued = float(claims["iat"])
        if issued < time.time() - 3600 or issued < self.tokens_issued_before_expire:
            return 403, "ExpiredProviderToken"
        if issued > time.time() + 300:
            return 403, "InvalidProviderToken"
        return team


def _header_problem(headers: dict[str, str]) -> str | None:
    push_type = headers.get("apns-push-type", "alert")
    if push_type not in _PUSH_TYPES:
        return "InvalidPushType"
    priority = headers.get("apns-priority", "10")
    if priority not in ("1", "5", "10") or (push_type == "background" and priority == "10"):
        return "BadPriority"
    if "apns-id" in headers:
        try:
            uuid.UUID(headers["apns-id"])
        except ValueError:
            return "BadMessageId"
    if "apns-expiration" in headers and not headers["apns-expiration"].isdigit():
        return "BadExpirationDate"
    if len(headers.get("apns-collapse-id", "").encode()) > 64:
        return "BadCollapseId"
    return None


class _H2Protocol(asyncio.Protocol):
    def __init__(self, endpoint: ApnsEndpoint) -> None:
        self._endpoint = endpoint
        self._conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
        self._streams: dict[int, tuple[dict[str, str], bytearray]] = {}
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        ssl_object = transport.get_extra_info("ssl_object")
        self._endpoint.protocols.append(ssl_object.selected_alpn_protocol() if ssl_object else "")
        self._conn.initiate_connection()
        self._flush()

    def data_received(self, data: bytes) -> None:
        try:
            events = self._conn.receive_data(data)
        except h2.exceptions.ProtocolError:
            self._flush()
            if self._transport:
                self._transport.close()
            return
        for event in events:
            if isinstance(event, h2.events.RequestReceived):
                self._streams[event.stream_id] = ({str(k): str(v) for k, v in event.headers}, bytearray())
            elif isinstance(event, h2.events.DataReceived):
                self._streams[event.stream_id][1].extend(event.data)
                self._conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                self._respond(event.stream_id)
        self._flush()

    def _respond(self, stream_id: int) -> None:
        headers, body = self._streams.pop(stream_id)
        status, out, content = self._endpoint.answer(
            headers.get(":method", ""), headers.get(":path", ""), headers, bytes(body)
        )
        response_headers = [(":status", str(status)), *out.items()]
        if content:
            response_headers.append(("content-length", str(len(content))))
        self._conn.send_headers(stream_id, response_headers, end_stream=not content)
        if content:
            self._conn.send_data(stream_id, content, end_stream=True)

    def _flush(self) -> None:
        if self._transport is not None:
            self._transport.write(self._conn.data_to_send())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--certs", type=Path, required=True, help="where to write the CA and server certificate")
    args = parser.parse_args()
    endpoint = ApnsEndpoint(certs_dir=args.certs, port=args.port)
    key_id, pem = endpoint.signing_key()
    (args.certs / "AuthKey.p8").write_text(pem)
    print(f"key_id={key_id} team_id=TEAM123456 topic=com.example.app ca={endpoint.ca_path}", flush=True)
    endpoint.start()
    threading.Event().wait()


if __name__ == "__main__":
    main()
