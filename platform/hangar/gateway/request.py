"""Decoding of the three request shapes Parse clients send (protocol reference §1-§2):
header-authenticated JSON, the JS SDK's text/plain envelope, and real GETs with
JSON-valued query strings."""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import orjson

from hangar.gateway.errors import INVALID_JSON, ParseError

# Envelope keys the JS SDK adds to every body, and the request fields they fill.
_ENVELOPE_FIELDS = {
    "_ApplicationId": "application_id",
    "_JavaScriptKey": "javascript_key",
    "_MasterKey": "master_key",
    "_ClientKey": "client_key",
    "_SessionToken": "session_token",
    "_InstallationId": "installation_id",
    "_ClientVersion": "client_version",
}
_DROPPED_ENVELOPE_KEYS = ("_RevocableSession", "_noBody", "_context")
_HEADER_FIELDS = {
    b"x-parse-application-id": "application_id",
    b"x-parse-master-key": "master_key",
    b"x-parse-client-key": "client_key",
    b"x-parse-javascript-key": "javascript_key",
    b"x-parse-rest-api-key": "rest_key",
    b"x-parse-windows-key": "dotnet_key",
    b"x-parse-session-token": "session_token",
    b"x-parse-installation-id": "installation_id",
    b"x-parse-client-version": "client_version",
}
_ALLOWED_METHODS = {"GET", "POST", "PUT", "DELETE"}


@dataclass
class ParseRequest:
    """One decoded Parse request: the logical method and path, credentials and parameters."""

    method: str
    path: str  # relative to the mount, always starting with "/"
    headers: dict[bytes, bytes]
    client_ip: str
    body: dict[str, Any] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    raw_body: bytes = b""
    application_id: str | None = None
    master_key: str | None = None
    client_key: str | None = None
    javascript_key: str | None = None
    rest_key: str | None = None
    dotnet_key: str | None = None
    session_token: str | None = None
    installation_id: str | None = None
    client_version: str | None = None
    context: dict[str, Any] = field(default_factory=dict)
    # The JS SDK's ``_ContentType`` envelope key (file uploads, reference §2).
    envelope_content_type: str | None = None
    # The raw body's chunks, on routes registered with ``streams_body`` (never buffered).
    body_stream: AsyncIterator[bytes] | None = None

    def params(self) -> dict[str, Any]:
        """GET parameters: the JSON body merged with the query string (the query string wins)."""
        return {**self.body, **self.query}


def decode_query_string(raw: bytes) -> dict[str, Any]:
    """Each value is tried as JSON and kept as a plain string if it is not (reference §1.2)."""
    decoded: dict[str, Any] = {}
    for key, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
        try:
            decoded[key] = orjson.loads(value)
        except orjson.JSONDecodeError:
            decoded[key] = value
    return decoded


def _decode_json_body(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ParseError(INVALID_JSON, f"Invalid JSON: {exc.msg}") from exc
    if not isinstance(body, dict):
        raise ParseError(INVALID_JSON, "The request body must be a JSON object.")
    return body


def _apply_basic_auth(request: ParseRequest, authorization: bytes | None) -> None:
    """``Authorization: Basic base64(appId:masterKey)`` or ``appId:javascript-key=KEY``."""
    if not authorization or not authorization[:6].lower() == b"basic ":
        return
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return
    app_id, sep, secret = decoded.partition(":")
    if not sep:
        return
    request.application_id = request.application_id or app_id
    if secret.startswith("javascript-key="):
        request.javascript_key = request.javascript_key or secret.removeprefix("javascript-key=")
    else:
        request.master_key = request.master_key or secret


def _context_object(context: Any) -> dict[str, Any]:
    """The cloud-code context: a JSON object (or its text); anything else is Parse's 107, as Parse Server answers."""
    if isinstance(context, str | bytes):
        try:
            context = orjson.loads(context)
        except orjson.JSONDecodeError:
            context = None
    if not isinstance(context, dict):
        raise ParseError(INVALID_JSON, "Invalid object for context.")
    return context


def _apply_envelope(request: ParseRequest) -> None:
    """Take the JS SDK's credentials out of the body (only when no header named the app)."""
    body = request.body
    if request.application_id is not None or "_ApplicationId" not in body:
        return
    for key, attribute in _ENVELOPE_FIELDS.items():
        if key in body:
            value = body.pop(key)
            if isinstance(value, str):
                setattr(request, attribute, value)
    if "_context" in body:
        request.context = _context_object(body["_context"])
    content_type = body.pop("_ContentType", None)
    if isinstance(content_type, str):
        request.envelope_content_type = content_type
    for key in _DROPPED_ENVELOPE_KEYS:
        body.pop(key, None)


def decode_request(
    *, method: str, path: str, query_string: bytes, headers: dict[bytes, bytes], raw_body: bytes, client_ip: str,
    parse_body: bool = True,
) -> ParseRequest:  # fmt: skip
    request = ParseRequest(method=method, path=path, headers=headers, client_ip=client_ip, raw_body=raw_body)
    for header, attribute in _HEADER_FIELDS.items():
        value = headers.get(header)
        if value is not None:
            setattr(request, attribute, value.decode("latin-1"))
    _apply_basic_auth(request, headers.get(b"authorization"))
    context_header = headers.get(b"x-parse-cloud-context")
    if context_header is not None:
        request.context = _context_object(context_header)
    request.query = decode_query_string(query_string) if query_string else {}
    if parse_body:
        # Parse Server reads every body as JSON whatever its Content-Type (reference §1.2).
        request.body = _decode_json_body(raw_body)
        if method == "POST" and isinstance(request.body.get("_method"), str):
            override = request.body.pop("_method").upper()
            if override not in _ALLOWED_METHODS:
                raise ParseError(INVALID_JSON, f"Unsupported _method {override}.")
            request.method = override
        _apply_envelope(request)
    return request
