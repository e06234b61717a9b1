"""The errors a handler raises to answer the client with a Parse error code."""

from __future__ import annotations

SCRIPT_FAILED = 141
VALIDATION_ERROR = 142


class ParseError(Exception):
    """Answer the client ``{"code": code, "error": message}`` (Parse's codes, e.g. 142 for validation)."""

    def __init__(self, code: int, message: str = "") -> None:
        super().__init__(message)
        if not isinstance(code, int) or isinstance(code, bool):
            raise TypeError("ParseError code must be an integer")
        self.code = code
        self.message = str(message)


class ValidationError(ParseError):
    """A rejected save: Parse's 142 with the given message."""

    def __init__(self, message: str = "Validation failed.") -> None:
        super().__init__(VALIDATION_ERROR, message)
