"""Writes of the files service: streamed uploads under the app's policy, deletes, settings, purge.

Uploads follow Parse Server's ``fileUpload`` defaults (reference §11, §15.5): the master
key always, logged-in users by default, public (no session) never by default, and no
``html``/``htm`` extension without the master key. The bytes stream to the backend
(never held whole); the record and the app's usage are written in one transaction
after the bytes are stored, and a refused or failed upload leaves no bytes behind.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, BinaryIO, cast

from psycopg.types.json import Jsonb

from hangar.caller import Caller
from hangar.datastore.connection import after_commit, app_transaction, app_transaction_pipelined
from hangar.files.adapters import FileStorageError, configured_backends, current_backend, storage_for
from hangar.files.errors import FileDeleteError, FileSaveError, FileTooLargeError
from hangar.files.hooks import FileInfo, hooks
from hangar.files.names import (
    content_type_allowed,
    content_type_resolve,
    extension,
    filename_validate,
    is_active,
    stored_name,
)
from hangar.files.selectors import FilePolicy, file_policy_get, storage_key
from hangar.files.streams import AsyncChunkReader, CountingStream

log = logging.getLogger(__name__)

_USAGE_ADD_SQL = """
INSERT INTO files_fileusage (app_id, bytes, count, updated_at) VALUES (%(app)s, %(size)s, %(count)s, now())
ON CONFLICT (app_id) DO UPDATE SET bytes = files_fileusage.bytes + EXCLUDED.bytes,
    count = files_fileusage.count + EXCLUDED.count, updated_at = now()
RETURNING bytes
"""


# The usage row takes the bytes only while the quota (0: none) allows them; the file is recorded
# only from the usage row's answer, so over quota neither changes.
_RECORD_WITHIN_QUOTA_SQL = """
WITH usage AS (
    INSERT INTO files_fileusage AS u (app_id, bytes, count, updated_at)
    SELECT %(app)s, %(size)s, 1, now() WHERE %(quota)s = 0 OR %(size)s <= %(quota)s
    ON CONFLICT (app_id) DO UPDATE SET bytes = u.bytes + EXCLUDED.bytes, count = u.count + 1, updated_at = now()
    WHERE %(quota)s = 0 OR u.bytes + EXCLUDED.bytes <= %(quota)s
    RETURNING u.bytes
)
INSERT INTO files_storedfile (app_id, name, backend, content_type, size, etag, metadata, tags, created_at)
SELECT %(app)s, %(name)s, %(backend)s, %(type)s, %(size)s, %(etag)s, %(metadata)s, %(tags)s, now() FROM usage
RETURNING id
"""


@dataclass(frozen=True)
class UploadedFile:
    name: str
    content_type: str
    size: int


class QuotaExceededError(FileSaveError):
    def __init__(self, quota: int) -> None:
        super().__init__(f"Storage quota exceeded: this app may store {quota} bytes of files.")


def upload_permission_check(*, caller: Caller, name: str) -> None:
    """Only the policy that needs no settings row: master always; html never without master."""
    if not caller.is_master and extension(name) in {"html", "htm"}:
        raise FileSaveError(f"File upload of extension {extension(name)} is disabled.")


def _policy_check(*, caller: Caller, policy: FilePolicy, content_type: str, declared_size: int | None) -> int:
    """Refuse what the app's policy forbids; return the most bytes this upload may store."""
    if not caller.is_master:
        if caller.user_id is None and not policy.enable_for_public:
            raise FileSaveError("File upload by public is disabled.")
        if caller.user_id is not None and not policy.enable_for_authenticated:
            raise FileSaveError("File upload by authenticated user is disabled.")
    if not content_type_allowed(content_type, policy.allowed_content_types):
        raise FileSaveError(f"File upload of type {content_type.split(';')[0]} is disabled.")
    if declared_size is not None and declared_size > policy.max_upload_bytes:
        raise FileTooLargeError(policy.max_upload_bytes)
    if policy.quota_bytes and policy.used_bytes + (declared_size or 0) > policy.quota_bytes:
        raise QuotaExceededError(policy.quota_bytes)
    return policy.max_upload_bytes


async def _store(*, app_pk: int, key: str, backend: str, chunks: CountingStream, content_type: str, name: str) -> None:
    storage = storage_for(backend)
    reader = cast(BinaryIO, AsyncChunkReader(aiter(chunks), asyncio.get_running_loop()))
    try:
        await asyncio.to_thread(
            storage.save, key, reader, content_type=content_type, attachment=is_active(content_type, name)
        )
    except BaseException:
        await _discard(backend, key)
        raise


async def _discard(backend: str, key: str) -> None:
    try:
        await asyncio.to_thread(storage_for(backend).delete, key)
    except Exception:  # the upload already failed; a leftover is logged, not raised
        log.exception("could not remove the partial upload %s", key)


async def _record(*, app_pk: int, info: FileInfo, backend: str, etag: str, quota: int) -> None:
    """The file's record and the app's usage, in one statement that refuses to pass the quota."""
    params = {
        "app": app_pk, "size": info.size, "quota": quota, "name": info.name, "backend": backend,
        "type": info.content_type, "etag": etag, "metadata": Jsonb(info.metadata), "tags": Jsonb(info.tags),
    }  # fmt: skip
    async with app_transaction_pipelined(app_pk) as conn:
        recorded = await conn.fetch_one(_RECORD_WITHIN_QUOTA_SQL, params)
    if recorded is None:
        raise QuotaExceededError(quota)  # nothing was written: the usage row refused the bytes


async def file_upload(
    *, caller: Caller, filename: str, content_type: str | None, chunks: AsyncIterator[bytes],
    declared_size: int | None = None, metadata: dict[str, Any] | None = None, tags: dict[str, Any] | None = None,
) -> UploadedFile:  # fmt: skip
    """Store an uploaded file under a new unguessable name and count it in the app's usage."""
    filename_validate(filename)
    upload_permission_check(caller=caller, name=filename)
    resolved_type = content_type_resolve(content_type, filename)
    policy = await file_policy_get(caller=caller)
    limit = _policy_check(caller=caller, policy=policy, content_type=resolved_type, declared_size=declared_size)
    info = FileInfo(
        name=stored_name(filename, resolved_type),
        content_type=resolved_type,
        size=declared_size,
        metadata=metadata or {},
        tags=tags or {},
    )
    info = await hooks().before_save(caller=caller, file=info)
    backend, key = current_backend(), storage_key(caller.app_pk, info.name)
    counted = CountingStream(chunks, limit=limit)
    await _store(
        app_pk=caller.app_pk, key=key, backend=backend, chunks=counted, content_type=resolved_type, name=info.name
    )
    if counted.size == 0:
        await _discard(backend, key)
        raise FileSaveError("Invalid file upload.")
    info = FileInfo(info.name, resolved_type, counted.size, info.metadata, info.tags)
    try:
        await _record(
            app_pk=caller.app_pk, info=info, backend=backend, etag=counted.hexdigest(), quota=policy.quota_bytes
        )
    except BaseException:
        await _discard(backend, key)
        raise
    await after_commit(lambda: hooks().after_save(caller=caller, file=info))
    return UploadedFile(name=info.name, content_type=resolved_type, size=counted.size)


async def file_delete(*, caller: Caller, name: str) -> None:
    """Delete one of the app's files (master key): its record, its usage, then its bytes."""
    await hooks().before_delete(caller=caller, name=name)
    async with app_transaction(caller.app_pk) as conn:
        cursor = await conn.execute(
            "DELETE FROM files_storedfile WHERE app_id = %s AND name = %s RETURNING backend, size",
            [caller.app_pk, name],
        )
        row = await cursor.fetchone()
        if row is None:
            raise FileDeleteError()
        backend, size = row
        await conn.execute(_USAGE_ADD_SQL, {"app": caller.app_pk, "size": -size, "count": -1})
    try:
        await asyncio.to_thread(storage_for(backend).delete, storage_key(caller.app_pk, name))
    except FileStorageError:
        log.exception("file %s of app %s is unrecorded but its bytes remain", name, caller.app_pk)
    await hooks().after_delete(caller=caller, name=name)


def file_settings_update(*, app_pk: int, **fields: Any) -> None:
    """Set an app's file settings (control plane); fields are FileSettings' own."""
    from hangar.files.models import FileSettings

    FileSettings.objects.update_or_create(app_id=app_pk, defaults=fields)


def app_files_purge(*, app_pk: int) -> None:
    """Remove every file of an app from every configured backend (app deletion). Idempotent."""
    for backend in configured_backends():
        storage_for(backend).delete_prefix(storage_key(app_pk, ""))
