"""The LiveQuery wire (protocol reference §16): client messages checked, server frames encoded.

Client messages are validated as Parse Server's JSON schemas do (unknown properties are
refused, code 1), except that a query's ``fields`` is accepted as the older clients'
name of ``keys`` (§16.2) and ``include`` is accepted beyond Parse. Frames are built with
orjson; an event's ``object``/``original`` are encoded once per variant and spliced into
each subscriber's frame (``event_head`` and ``event_tail``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

# Error codes of LiveQuery frames (§16.5); Parse data errors keep their own codes (119, 209, ...).
INVALID_MESSAGE = 1
NOT_CONNECTED = 2
UNKNOWN_OPERATION = 3
INVALID_KEY = 4

_OPS = ("connect", "subscribe", "update", "unsubscribe")
_CONNECT_FIELDS = frozenset(
    {"op", "applicationId", "javascriptKey", "masterKey", "clientKey", "windowsKey", "restAPIKey", "sessionToken",
     "installationId"}
)  # fmt: skip
_SUBSCRIBE_FIELDS = frozenset({"op", "requestId", "query", "sessionToken"})
_QUERY_FIELDS = frozenset({"className", "where", "keys", "fields", "watch", "include"})
_UNSUBSCRIBE_FIELDS = frozenset({"op", "requestId"})
MAX_REQUEST_ID = 2**53  # JavaScript's safe integers: the SDK's requestIds are numbers


class LiveQueryError(Exception):
    """An ``op: "error"`` frame to send; ``close`` also ends the connection after it."""

    def __init__(
        self, code: int, message: str, *, reconnect: bool = True, request_id: int | None = None, close: bool = False
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reconnect = reconnect
        self.request_id = request_id
        self.close = close


@dataclass(frozen=True)
class Connect:
    application_id: str
    keys: dict[str, str]  # javascriptKey, clientKey, restAPIKey, windowsKey, masterKey as sent
    session_token: str | None
    installation_id: str | None


@dataclass(frozen=True)
class Query:
    class_name: str
    where: dict[str, Any]
    keys: tuple[str, ...] | None
    watch: tuple[str, ...] | None
    include: tuple[str, ...]


@dataclass(frozen=True)
class Subscribe:
    request_id: int
    query: Query
    session_token: str | None
    replaces: bool  # an ``update``: replace the subscription of this requestId


@dataclass(frozen=True)
class Unsubscribe:
    request_id: int


Message = Connect | Subscribe | Unsubscribe


def decode(raw: str | bytes | None) -> Any:
    """The message's JSON, or None when it is not JSON (such frames are ignored, as by Parse Server)."""
    if raw is None:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


def _invalid(message: str) -> LiveQueryError:
    return LiveQueryError(INVALID_MESSAGE, message)


def _string(message: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = message.get(name)
    if value is None:
        if required:
            raise _invalid(f"Missing required property: {name}")
        return None
    if not isinstance(value, str):
        raise _invalid(f"Invalid type: {type(value).__name__} (expected string)")
    return value


def _request_id(message: dict[str, Any]) -> int:
    value = message.get("requestId")
    if value is None:
        raise _invalid("Missing required property: requestId")
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise _invalid(f"Invalid type: {type(value).__name__} (expected number)")
    if not 0 <= value <= MAX_REQUEST_ID:
        raise _invalid("requestId is out of range")
    return int(value)


def _names(query: dict[str, Any], name: str) -> tuple[str, ...] | None:
    value = query.get(name)
    if value is None:
        return None
    if isinstance(value, str):  # a comma list, as Parse Server also accepts for keys
        value = [part for part in value.split(",") if part]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _invalid(f"Invalid type: {name} must be an array of strings")
    if not value or len(set(value)) != len(value):
        raise _invalid(f"{name} must hold at least one name, each once")
    return tuple(value)


def _query(message: dict[str, Any]) -> Query:
    query = message.get("query")
    if query is None:
        raise _invalid("Missing required property: query")
    if not isinstance(query, dict):
        raise _invalid("Invalid type: query (expected object)")
    if set(query) - _QUERY_FIELDS:
        raise _invalid("Additional properties not allowed")
    class_name = _string(query, "className", required=True)
    where = query.get("where") or {}
    if not isinstance(where, dict):
        raise _invalid("Invalid type: where (expected object)")
    keys = _names(query, "keys")
    fields = _names(query, "fields")
    return Query(
        class_name=class_name or "", where=where, keys=keys if keys is not None else fields,
        watch=_names(query, "watch"), include=_names(query, "include") or (),
    )  # fmt: skip


def parse_message(message: Any) -> Message:
    """Check one decoded client message; raises ``LiveQueryError`` (code 1 or 3) as Parse Server would."""
    if not isinstance(message, dict):
        raise _invalid("Invalid type: message (expected object)")
    op = message.get("op")
    if op is None:
        raise _invalid("Missing required property: op")
    if op not in _OPS:
        raise _invalid(f"No enum match for: {orjson.dumps(op).decode()}")
    if op == "connect":
        if set(message) - _CONNECT_FIELDS:
            raise _invalid("Additional properties not allowed")
        application_id = _string(message, "applicationId", required=True) or ""
        keys = {}
        for name in ("javascriptKey", "clientKey", "restAPIKey", "windowsKey", "masterKey"):
            value = _string(message, name)
            if value:
                keys[name] = value
        return Connect(
            application_id=application_id, keys=keys, session_token=_string(message, "sessionToken") or None,
            installation_id=_string(message, "installationId") or None,
        )  # fmt: skip
    if op == "unsubscribe":
        if set(message) - _UNSUBSCRIBE_FIELDS:
            raise _invalid("Additional properties not allowed")
        return Unsubscribe(request_id=_request_id(message))
    if set(message) - _SUBSCRIBE_FIELDS:
        raise _invalid("Additional properties not allowed")
    request_id = _request_id(message)
    try:
        query = _query(message)
    except LiveQueryError as exc:
        exc.request_id = request_id
        raise
    return Subscribe(
        request_id=request_id, query=query, session_token=_string(message, "sessionToken") or None,
        replaces=op == "update",
    )  # fmt: skip


def _head(op: str, client_id: str | None, installation_id: str | None, request_id: int | None) -> dict[str, Any]:
    frame: dict[str, Any] = {"op": op}
    if client_id is not None:
        frame["clientId"] = client_id
    if installation_id is not None:
        frame["installationId"] = installation_id
    if request_id is not None:
        frame["requestId"] = request_id
    return frame


def status_frame(op: str, client_id: str, installation_id: str | None, request_id: int | None = None) -> bytes:
    """``connected``, ``subscribed`` or ``unsubscribed``."""
    return orjson.dumps(_head(op, client_id, installation_id, request_id))


def error_frame(error: LiveQueryError) -> bytes:
    return orjson.dumps(
        {"op": "error", "error": error.message, "code": error.code, "reconnect": error.reconnect,
         "requestId": error.request_id}
    )  # fmt: skip


def event_head(op: str, client_id: str, installation_id: str | None, request_id: int) -> bytes:
    """An event frame's opening, up to its ``object`` (the same for every event of one op and subscription)."""
    return orjson.dumps(_head(op, client_id, installation_id, request_id))[:-1] + b',"object":'


def event_tail(obj: bytes, original: bytes | None) -> bytes:
    """What follows an event frame's opening (``event_head``): the encoded ``object`` (and ``original``)."""
    if original is None:
        return obj + b"}"
    return obj + b',"original":' + original + b"}"
