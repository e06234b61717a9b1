"""Parse protocol errors (protocol reference §4 and §17).

The codes are the data services' own language (Parse Server's controllers throw them
too), so they live here rather than in the gateway; the gateway renders them.
"""

from __future__ import annotations

from typing import Any

# Parse error codes used by the gateway and the data services (reference §17).
INTERNAL_SERVER_ERROR = 1
CONNECTION_FAILED = 100
OBJECT_NOT_FOUND = 101
INVALID_QUERY = 102
INVALID_CLASS_NAME = 103
INVALID_KEY_NAME = 105
INVALID_JSON = 107
COMMAND_UNAVAILABLE = 108
INCORRECT_TYPE = 111
OBJECT_TOO_LARGE = 116
OPERATION_FORBIDDEN = 119
INVALID_SESSION_TOKEN = 209
INVALID_SCHEMA_OPERATION = 255


class ParseError(Exception):
    """An error the client sees as ``{"code": N, "error": "..."}``."""

    def __init__(self, code: int, message: str, *, status: int | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status if status is not None else http_status_for(code)
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "error": self.message}


class UnauthorizedError(ParseError):
    """Bad app id or keys: Parse answers 403 ``{"error": "unauthorized"}`` with no code."""

    def __init__(self, message: str = "unauthorized") -> None:
        super().__init__(0, message, status=403)

    def body(self) -> dict[str, Any]:
        return {"error": self.message}


def http_status_for(code: int) -> int:
    if code == INTERNAL_SERVER_ERROR:
        return 500
    if code == OBJECT_NOT_FOUND:
        return 404
    if code == CONNECTION_FAILED:
        return 429
    return 400
