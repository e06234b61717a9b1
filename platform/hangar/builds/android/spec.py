"""What one Android build makes, checked before anything runs: package, versions, label, icon, content.

Rules follow the platform's own: a package name is at least two Java identifiers joined by dots
(https://developer.android.com/build/configure-app-module#set-namespace), a version code is a
positive integer up to 2,100,000,000 (https://developer.android.com/studio/publish/versioning).
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from hangar.builds.errors import BuildSpecError

VERSION_CODE_MAX = 2_100_000_000
LABEL_MAX = 50
VERSION_NAME_MAX = 100
PACKAGE_NAME_MAX = 150
ICON_MAX_PIXELS = 2048
BUNDLE_MAX_FILES = 2000
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
BUNDLED_START_URL = "file:///android_asset/www/index.html"
# What a build makes: an APK to install (and to share through the install page), or an Android App
# Bundle to upload to Google Play (which makes the APKs for each device from it).
ARTIFACT_FORMATS = ("apk", "aab")
ARTIFACT_MEDIA_TYPES = {"apk": "application/vnd.android.package-archive", "aab": "application/octet-stream"}

_SEGMENT = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
# Java's reserved words (Python's keyword list is a different language's).
_JAVA_RESERVED = frozenset(
    "abstract assert boolean break byte case catch char class const continue default do double else enum extends "
    "false final finally float for goto if implements import instanceof int interface long native new null package "
    "private protected public return short static strictfp super switch synchronized this throw throws transient "
    "true try void volatile while".split()
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ARCHIVE_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError, OSError)


@dataclass(frozen=True)
class HangarConnection:
    """Where the shell's page reaches its backend: injected into the DEX constants and assets/hangar.json."""

    server_url: str
    application_id: str
    client_key: str


@dataclass(frozen=True)
class AndroidBuildSpec:
    package_name: str
    label: str
    version_code: int
    version_name: str
    icon_png: bytes
    connection: HangarConnection
    start_url: str = ""  # empty: the bundle's index.html
    web_bundle: dict[str, bytes] = field(default_factory=dict)  # asset path under www/ -> bytes
    artifact_format: str = "apk"  # one of ARTIFACT_FORMATS

    @property
    def effective_start_url(self) -> str:
        return self.start_url or BUNDLED_START_URL


def package_name_checked(value: object) -> str:
    if not isinstance(value, str) or not value or len(value) > PACKAGE_NAME_MAX:
        raise BuildSpecError(f"package_name must be 1 to {PACKAGE_NAME_MAX} characters.", field="package_name")
    segments = value.split(".")
    if len(segments) < 2:
        raise BuildSpecError("package_name needs at least two segments, like com.example.app.", field="package_name")
    for segment in segments:
        if not _SEGMENT.match(segment):
            raise BuildSpecError(
                f"package_name segment {segment!r} must start with a letter and hold only letters, digits and _.",
                field="package_name",
            )
        if segment in _JAVA_RESERVED:
            raise BuildSpecError(f"package_name segment {segment!r} is a Java keyword.", field="package_name")
    return value


def version_code_checked(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= VERSION_CODE_MAX:
        raise BuildSpecError(f"version_code must be an integer from 1 to {VERSION_CODE_MAX}.", field="version_code")
    return value


def artifact_format_checked(value: object) -> str:
    if value in (None, ""):
        return "apk"
    if value not in ARTIFACT_FORMATS:
        raise BuildSpecError(f"artifact_format must be one of {', '.join(ARTIFACT_FORMATS)}.", field="artifact_format")
    return str(value)


def text_checked(value: object, *, name: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > limit or _CONTROL.search(value):
        raise BuildSpecError(f"{name} must be 1 to {limit} characters without control characters.", field=name)
    return value


def start_url_checked(value: object, *, schemes: tuple[str, ...]) -> str:
    if value in (None, ""):
        return ""
    if not isinstance(value, str) or len(value) > 2000 or _CONTROL.search(value):
        raise BuildSpecError("start_url must be a URL of at most 2000 characters.", field="start_url")
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.hostname:
        allowed = " or ".join(schemes)
        raise BuildSpecError(f"start_url must be an absolute URL with scheme {allowed}.", field="start_url")
    if parts.username or parts.password:
        raise BuildSpecError("start_url must not carry credentials.", field="start_url")
    return value


def icon_checked(data: bytes, *, max_bytes: int) -> bytes:
    """The icon's bytes when they are one PNG image (not only a .png name); Pillow decodes it fully."""
    from PIL import Image, UnidentifiedImageError

    if len(data) > max_bytes:
        raise BuildSpecError(f"icon must be at most {max_bytes} bytes.", field="icon")
    if not data.startswith(PNG_MAGIC):
        raise BuildSpecError("icon must be a PNG image.", field="icon")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != "PNG":
                raise BuildSpecError("icon must be a PNG image.", field="icon")
            width, height = image.size
            if width > ICON_MAX_PIXELS or height > ICON_MAX_PIXELS or width < 48 or height < 48:
                raise BuildSpecError(f"icon must be 48 to {ICON_MAX_PIXELS} pixels a side.", field="icon")
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise BuildSpecError("icon is not a readable PNG image.", field="icon") from exc
    return data


def web_bundle_checked(archive: bytes, *, max_bytes: int) -> dict[str, bytes]:
    """The bundle's files by path; it must be a zip with index.html at its root, inside the size limit."""
    if len(archive) > max_bytes:
        raise BuildSpecError(f"web_bundle must be at most {max_bytes} bytes.", field="web_bundle")
    files: dict[str, bytes] = {}
    total = 0
    try:
        with zipfile.ZipFile(io.BytesIO(archive)) as bundle:
            members = [m for m in bundle.infolist() if not m.is_dir()]
            if len(members) > BUNDLE_MAX_FILES:
                raise BuildSpecError(f"web_bundle holds more than {BUNDLE_MAX_FILES} files.", field="web_bundle")
            for member in members:
                path = _bundle_path(member.filename)
                total += member.file_size
                if total > max_bytes:  # the declared sizes, before anything is inflated
                    raise BuildSpecError(f"web_bundle unpacks to more than {max_bytes} bytes.", field="web_bundle")
                files[path] = bundle.read(member)
    except _ARCHIVE_ERRORS as exc:
        raise BuildSpecError(f"web_bundle is not a readable zip file ({exc}).", field="web_bundle") from exc
    if "index.html" not in files:
        raise BuildSpecError("web_bundle must hold index.html at its root.", field="web_bundle")
    return files


def _bundle_path(name: str) -> str:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or "\\" in name or _CONTROL.search(name) or not path.parts:
        raise BuildSpecError(f"web_bundle holds an unsafe path {name!r}.", field="web_bundle")
    return str(path)
