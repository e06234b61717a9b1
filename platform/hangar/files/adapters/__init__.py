"""File storage backends, one module per vendor, chosen by HANGAR_FILES_BACKEND (docs/files.md)."""

from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string

from hangar.files.adapters.base import FileStorage, FileStorageError

ALIASES = {
    "local": "hangar.files.adapters.local.LocalFileStorage",
    "s3": "hangar.files.adapters.s3.S3FileStorage",
}
_instances: dict[tuple[object, ...], FileStorage] = {}


def current_backend() -> str:
    """The backend new uploads go to (each stored file remembers its own)."""
    return str(settings.HANGAR_FILES_BACKEND)


def storage_for(backend: str) -> FileStorage:
    """The storage of a backend name, built once per configuration (tests change settings)."""
    cls = import_string(ALIASES.get(backend, backend))
    key = (backend, *cls.configuration())
    storage = _instances.get(key)
    if storage is None:
        storage = _instances[key] = cls()
    return storage


def configured_backends() -> list[str]:
    """Every backend that may hold files: the current one, local always, S3 when a bucket is set."""
    names = [current_backend(), "local"]
    if settings.HANGAR_FILES_S3_BUCKET:
        names.append("s3")
    return list(dict.fromkeys(names))


__all__ = ["FileStorage", "FileStorageError", "configured_backends", "current_backend", "storage_for"]
