"""Files on the local filesystem under HANGAR_FILES_DIR, one folder per app (the embedded default)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage

from hangar.files.adapters.base import CHUNK_BYTES, FileStorage, FileStorageError


class _UploadFile(File):
    # FileSystemStorage writes content.chunks(): each read of the upload stream is one hop
    # from the writer thread to the event loop, so fewer, larger reads (held: one block).
    DEFAULT_CHUNK_SIZE = 1024 * 1024


class LocalFileStorage(FileStorage):
    @classmethod
    def configuration(cls) -> tuple[object, ...]:
        return (str(settings.HANGAR_FILES_DIR),)

    def __init__(self) -> None:
        self.root = Path(settings.HANGAR_FILES_DIR)
        self._storage = FileSystemStorage(location=self.root)

    def save(self, key: str, stream: BinaryIO, *, content_type: str, attachment: bool) -> None:
        try:
            # FileSystemStorage writes content.chunks() to a new file (O_EXCL): never the whole body at once.
            self._storage.save(key, _UploadFile(stream, name=key))
        except OSError as exc:
            raise FileStorageError(f"cannot write {key}: {exc}", retryable=True) from exc

    def read(self, key: str, *, start: int, end: int) -> Iterator[bytes]:
        with self._storage.open(key, "rb") as handle:
            handle.seek(start)
            remaining = end - start + 1
            while remaining > 0:
                chunk = handle.read(min(CHUNK_BYTES, remaining))
                if not chunk:
                    return
                remaining -= len(chunk)
                yield chunk

    def delete(self, key: str) -> None:
        self._storage.delete(key)

    def delete_prefix(self, prefix: str) -> None:
        shutil.rmtree(self.root / prefix, ignore_errors=True)
