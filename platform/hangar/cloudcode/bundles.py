"""A bundle as uploaded (a folder or a zip) turned into the stored form: a normalized zip.

Rules (docs/cloudcode.md, Deploy): ``main.py`` at the root (a zip whose files all sit in
one top folder is taken from inside it); relative paths without ``..``; no links; no
compiled extensions (``.so``/``.pyd``: the sandbox's interpreter is the system's, and
native code is the part of a package the sandbox cannot vouch for, so only pure-Python
packages may be vendored, in the bundle root or ``lib/``); bounded size and file count.
"""

from __future__ import annotations

import hashlib
import stat
import zipfile
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path, PurePosixPath

from django.conf import settings

_NATIVE_SUFFIXES = (".so", ".pyd", ".dylib", ".dll")
_SKIPPED_PARTS = {"__pycache__", ".git", ".DS_Store"}
_FIXED_TIME = (2020, 1, 1, 0, 0, 0)


class BundleError(ValueError):
    """The upload is not a valid bundle; the message says why."""


@dataclass(frozen=True)
class Bundle:
    archive: bytes
    sha256: str
    files: tuple[str, ...]


def _safe_path(name: str) -> str | None:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or any(part == ".." for part in path.parts):
        raise BundleError(f"{name}: paths must be relative and stay inside the bundle")
    if any(part in _SKIPPED_PARTS for part in path.parts) or name.endswith("/"):
        return None
    if path.suffix == ".pyc":
        return None
    if path.suffix in _NATIVE_SUFFIXES:
        raise BundleError(f"{name}: compiled extensions cannot run in the sandbox; vendor pure-Python packages only")
    return str(path)


def _pack(files: dict[str, bytes]) -> Bundle:
    if "main.py" not in files:
        raise BundleError("the bundle has no main.py at its root")
    if len(files) > settings.HANGAR_CLOUD_MAX_BUNDLE_FILES:
        raise BundleError(f"the bundle has more than {settings.HANGAR_CLOUD_MAX_BUNDLE_FILES} files")
    if sum(len(content) for content in files.values()) > settings.HANGAR_CLOUD_MAX_BUNDLE_BYTES:
        raise BundleError(f"the bundle is larger than {settings.HANGAR_CLOUD_MAX_BUNDLE_BYTES} bytes unpacked")
    out = BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name])
    data = out.getvalue()
    return Bundle(archive=data, sha256=hashlib.sha256(data).hexdigest(), files=tuple(sorted(files)))


def bundle_from_zip(data: bytes) -> Bundle:
    if len(data) > settings.HANGAR_CLOUD_MAX_BUNDLE_BYTES:
        raise BundleError(f"the upload is larger than {settings.HANGAR_CLOUD_MAX_BUNDLE_BYTES} bytes")
    try:
        archive = zipfile.ZipFile(BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise BundleError("the upload is not a zip file") from exc
    files: dict[str, bytes] = {}
    total = 0
    with archive:
        entries = [entry for entry in archive.infolist() if not entry.is_dir()]
        if len(entries) > settings.HANGAR_CLOUD_MAX_BUNDLE_FILES:
            raise BundleError(f"the bundle has more than {settings.HANGAR_CLOUD_MAX_BUNDLE_FILES} files")
        for entry in entries:
            if stat.S_ISLNK(entry.external_attr >> 16):
                raise BundleError(f"{entry.filename}: links are not allowed in a bundle")
            name = _safe_path(entry.filename)
            if name is None:
                continue
            total += entry.file_size
            if total > settings.HANGAR_CLOUD_MAX_BUNDLE_BYTES:  # checked before reading: no zip bomb
                raise BundleError(f"the bundle is larger than {settings.HANGAR_CLOUD_MAX_BUNDLE_BYTES} bytes unpacked")
            files[name] = archive.read(entry)
    return _pack(_strip_single_top_folder(files))


def _strip_single_top_folder(files: dict[str, bytes]) -> dict[str, bytes]:
    if "main.py" in files or not files:
        return files
    tops = {name.split("/", 1)[0] for name in files}
    if len(tops) == 1 and all("/" in name for name in files):
        prefix = tops.pop() + "/"
        return {name[len(prefix) :]: content for name, content in files.items()}
    return files


def bundle_from_folder(folder: Path) -> Bundle:
    if not folder.is_dir():
        raise BundleError(f"{folder} is not a folder")
    files: dict[str, bytes] = {}
    total = 0
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if path.is_symlink():
            raise BundleError(f"{relative}: links are not allowed in a bundle")
        if path.is_dir():
            continue
        name = _safe_path(relative)
        if name is None:
            continue
        total += path.stat().st_size
        if total > settings.HANGAR_CLOUD_MAX_BUNDLE_BYTES:
            raise BundleError(f"the bundle is larger than {settings.HANGAR_CLOUD_MAX_BUNDLE_BYTES} bytes unpacked")
        files[name] = path.read_bytes()
    return _pack(files)


def bundle_from_path(path: Path) -> Bundle:
    if path.is_dir():
        return bundle_from_folder(path)
    try:
        return bundle_from_zip(path.read_bytes())
    except OSError as exc:
        raise BundleError(f"{path} cannot be read: {exc}") from exc


def bundle_sources(archive: bytes) -> dict[str, str]:
    """The bundle's text files (the Parse Dashboard's Cloud Code page shows them)."""
    sources: dict[str, str] = {}
    with zipfile.ZipFile(BytesIO(archive)) as bundle:
        for entry in bundle.infolist():
            try:
                sources[entry.filename] = bundle.read(entry).decode()
            except UnicodeDecodeError:
                continue
    return sources
