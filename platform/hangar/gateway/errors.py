"""The gateway renders hangar.parse_errors; re-exported here for its own modules."""

from hangar.parse_errors import (
    CONNECTION_FAILED,
    INVALID_JSON,
    OBJECT_TOO_LARGE,
    OPERATION_FORBIDDEN,
    ParseError,
    UnauthorizedError,
    http_status_for,
)

__all__ = [
    "CONNECTION_FAILED",
    "INVALID_JSON",
    "OBJECT_TOO_LARGE",
    "OPERATION_FORBIDDEN",
    "ParseError",
    "UnauthorizedError",
    "http_status_for",
]
