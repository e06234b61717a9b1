"""The one narrow interface every file storage backend implements.

Methods are synchronous (Django storages and boto3 are); the files services run them
in worker threads. Keys are ``app<pk>/<stored name>``: each app has its own folder or
prefix, so removing an app's files is one prefix removal.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

CHUNK_BYTES = 64 * 1024


class FileStorageError(Exception):
    """A backend failed; ``retryable`` says whether trying again may help (network, throttling)."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class FileStorage:
    @classmethod
    def configuration(cls) -> tuple[object, ...]:
        """The settings this backend is built from (a new instance when they change)."""
        return ()

    def save(self, key: str, stream: BinaryIO, *, content_type: str, attachment: bool) -> None:
        """Store the stream's bytes under ``key``, reading it in chunks (never whole)."""
        raise NotImplementedError

    def read(self, key: str, *, start: int, end: int) -> Iterator[bytes]:
        """Yield the bytes ``start..end`` (inclusive) of a stored file in chunks."""
        raise NotImplementedError

    def delete(self, key: str) -> None:
        raise NotImplementedError

    def delete_prefix(self, prefix: str) -> None:
        """Remove every file under ``prefix`` (an app's folder)."""
        raise NotImplementedError

    def direct_url(self, key: str, *, presigned_seconds: int | None) -> str | None:
        """A URL the client can fetch from the backend itself (public, or presigned for N seconds); None if none."""
        return None
