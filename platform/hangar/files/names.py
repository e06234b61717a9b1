"""Stored file names and content types (reference §11), and which types are active content."""

from __future__ import annotations

import mimetypes
import re
import secrets

from hangar.files.errors import FileNameError, FileSaveError

_NAME = re.compile(r"^[_a-zA-Z0-9][a-zA-Z0-9@. ~_-]*$")
_CONTENT_TYPE = re.compile(r"^[A-Za-z0-9][\w.+-]*/[\w.+-]+(\s*;[ -~]*)?$")
MAX_NAME_LENGTH = 128
DEFAULT_CONTENT_TYPE = "application/octet-stream"
# Types a browser would render or execute on Hangar's origin: served as attachments.
_ACTIVE_TYPES = {
    "text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml", "text/javascript",
    "application/javascript", "application/x-javascript", "application/ecmascript", "text/ecmascript",
    "text/vtt", "application/pdf", "text/xsl", "application/wasm", "multipart/x-mixed-replace",
}  # fmt: skip


def filename_validate(name: str) -> None:
    if not name:
        raise FileNameError("Filename not provided.")
    if len(name) > MAX_NAME_LENGTH:
        raise FileNameError("Filename too long.")
    if not _NAME.match(name):
        raise FileNameError("Filename contains invalid characters.")


def stored_name(name: str, content_type: str | None) -> str:
    """32 random hex characters, ``_``, the given name; an extension is added when the name has none."""
    if "." not in name and content_type:
        extension = mimetypes.guess_extension(content_type.split(";")[0].strip())
        if extension:
            name += extension
    return f"{secrets.token_hex(16)}_{name}"


def content_type_resolve(declared: str | None, name: str) -> str:
    """The declared type (validated), else one guessed from the extension."""
    if declared:
        declared = declared.strip()
        if not _CONTENT_TYPE.match(declared):
            raise FileSaveError(f"Invalid content type {declared[:100]!r}.")
        return declared
    return mimetypes.guess_type(name)[0] or DEFAULT_CONTENT_TYPE


def media_type(content_type: str) -> str:
    return content_type.split(";")[0].strip().lower()


def is_active(content_type: str, name: str) -> bool:
    """Whether a browser could run script from it: by its type or, when sniffed, by its extension."""
    guessed = mimetypes.guess_type(name)[0] or ""
    return any(kind in _ACTIVE_TYPES or kind.endswith("+xml") for kind in (media_type(content_type), guessed))


def content_type_allowed(content_type: str, allowed: list[str]) -> bool:
    """``allowed`` holds types and ``type/*`` wildcards; empty allows all."""
    if not allowed:
        return True
    kind = media_type(content_type)
    family = kind.split("/")[0] + "/*"
    return any(entry.lower() in {kind, family, "*/*"} for entry in allowed)


def extension(name: str) -> str:
    return name.rsplit(".", 1)[1].lower() if "." in name else ""
