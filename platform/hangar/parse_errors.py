"""Parse protocol errors (protocol reference §4 and §17).

The codes are the data services' own language (Parse Server's controllers throw them
too), so they live here rather than in the gateway; the gateway renders them.
"""

from __future__ import annotations

from typing import Any

# Parse error codes (reference §17; Parse.Error in the JS SDK). Every module takes its codes
# from here: a code is part of the wire protocol, defined once.
INTERNAL_SERVER_ERROR = 1
OTHER_CAUSE = -1
CONNECTION_FAILED = 100
OBJECT_NOT_FOUND = 101
INVALID_QUERY = 102
INVALID_CLASS_NAME = 103
MISSING_OBJECT_ID = 104
INVALID_KEY_NAME = 105
INVALID_POINTER = 106
INVALID_JSON = 107
COMMAND_UNAVAILABLE = 108
NOT_INITIALIZED = 109
INCORRECT_TYPE = 111
INVALID_CHANNEL_NAME = 112
PUSH_MISCONFIGURED = 115
OBJECT_TOO_LARGE = 116
OPERATION_FORBIDDEN = 119
CACHE_MISS = 120
INVALID_NESTED_KEY = 121
INVALID_FILE_NAME = 122
INVALID_ACL = 123
TIMEOUT = 124
INVALID_EMAIL_ADDRESS = 125
MISSING_CONTENT_TYPE = 126
MISSING_CONTENT_LENGTH = 127
INVALID_CONTENT_LENGTH = 128
FILE_TOO_LARGE = 129
FILE_SAVE_ERROR = 130
DUPLICATE_VALUE = 137
INVALID_ROLE_NAME = 139
EXCEEDED_QUOTA = 140
SCRIPT_FAILED = 141
VALIDATION_ERROR = 142
INVALID_IMAGE_DATA = 143
WEBHOOK_ERROR = 143  # Parse.Error.WEBHOOK_ERROR shares the code
UNSAVED_FILE_ERROR = 151
INVALID_PUSH_TIME_ERROR = 152
FILE_DELETE_ERROR = 153
FILE_DELETE_UNNAMED_ERROR = 161
REQUEST_LIMIT_EXCEEDED = 155
DUPLICATE_REQUEST = 159
INVALID_EVENT_NAME = 160
INVALID_VALUE = 162
# Parse Server's installation upsert: a deviceToken held by several installations, no installationId given.
DEVICE_TOKEN_AMBIGUOUS = 132
MISSING_REQUIRED_FIELD = 135
CHANGED_IMMUTABLE_FIELD = 136
USERNAME_MISSING = 200
PASSWORD_MISSING = 201
USERNAME_TAKEN = 202
EMAIL_TAKEN = 203
EMAIL_MISSING = 204
EMAIL_NOT_FOUND = 205
SESSION_MISSING = 206
MUST_CREATE_USER_THROUGH_SIGNUP = 207
ACCOUNT_ALREADY_LINKED = 208
INVALID_SESSION_TOKEN = 209
MFA_ERROR = 210
MFA_TOKEN_REQUIRED = 211
LINKED_ID_MISSING = 250
INVALID_LINKED_SESSION = 251
UNSUPPORTED_SERVICE = 252
INVALID_SCHEMA_OPERATION = 255
AGGREGATE_ERROR = 600
FILE_READ_ERROR = 601
X_DOMAIN_REQUEST = 602


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
