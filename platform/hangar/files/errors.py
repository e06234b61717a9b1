"""The files service's Parse errors (protocol reference §11 and §17)."""

from __future__ import annotations

from hangar.parse_errors import FILE_DELETE_ERROR, FILE_SAVE_ERROR, FILE_TOO_LARGE, INVALID_FILE_NAME, ParseError


class FileNameError(ParseError):
    def __init__(self, message: str) -> None:
        super().__init__(INVALID_FILE_NAME, message)


class FileTooLargeError(ParseError):
    def __init__(self, limit: int) -> None:
        super().__init__(FILE_TOO_LARGE, f"File size exceeds maximum allowed: {limit} bytes.")


class FileSaveError(ParseError):
    """Refused by policy (public upload, content type, quota) or not stored."""

    def __init__(self, message: str) -> None:
        super().__init__(FILE_SAVE_ERROR, message)


class FileDeleteError(ParseError):
    def __init__(self) -> None:
        super().__init__(FILE_DELETE_ERROR, "Could not delete file.")
