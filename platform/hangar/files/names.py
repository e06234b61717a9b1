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
# Types a browser shows inline without running anything of the file's own; every other type,
# and every Content-Type that is not one well-formed media type, is served as an attachment.
# A short allowlist rather than a list of active types: a browser renders more than any such
# list names (``text/plain; x=1, text/html`` is HTML to Chromium).
_INLINE_TYPES = frozenset({
    "image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "image/bmp", "image/x-icon",
    "image/vnd.microsoft.icon", "text/plain", "text/csv", "application/json", "audio/mpeg", "audio/ogg",
    "audio/wav", "audio/webm", "audio/aac", "audio/mp4", "audio/flac", "video/mp4", "video/webm", "video/ogg",
    "video/quicktime",
})  # fmt: skip
# RFC 9110 §8.3.1: type "/" subtype *( OWS ";" OWS [ name "=" ( token / quoted-string ) ] ).
_TCHARS = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_QUOTED = r'"(?:[\t !#-\[\]-~]|\\[\t -~])*"'
_MEDIA_TYPE = re.compile(rf"({_TCHARS})/({_TCHARS})((?:[ \t]*;[ \t]*(?:{_TCHARS}=(?:{_TCHARS}|{_QUOTED}))?)*)[ \t]*")


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


def strict_media_type(content_type: str) -> str | None:
    """The lower-cased ``type/subtype`` of a well-formed Content-Type; None for anything else (lists, junk).

    No comma at all, even quoted: a browser reads the header as a list and may take a later element.
    """
    found = None if "," in content_type else _MEDIA_TYPE.fullmatch(content_type)
    return f"{found[1]}/{found[2]}".lower() if found else None


def is_active(content_type: str, name: str) -> bool:
    """Whether the file must be an attachment: its type is not on the inline allowlist, or its name says otherwise."""
    guessed = mimetypes.guess_type(name)[0]
    if strict_media_type(content_type) not in _INLINE_TYPES:
        return True
    return guessed is not None and guessed not in _INLINE_TYPES


def content_type_allowed(content_type: str, allowed: list[str]) -> bool:
    """``allowed`` holds types and ``type/*`` wildcards; empty allows all."""
    if not allowed:
        return True
    kind = media_type(content_type)
    family = kind.split("/")[0] + "/*"
    return any(entry.lower() in {kind, family, "*/*"} for entry in allowed)


def extension(name: str) -> str:
    return name.rsplit(".", 1)[1].lower() if "." in name else ""
