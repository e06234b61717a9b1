"""Reads of the files service: an app's upload policy, a stored file's record and bytes, usage."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings

from hangar.caller import Caller
from hangar.datastore.connection import app_transaction_pipelined
from hangar.files.adapters import storage_for
from hangar.files.streams import iterate_in_thread


@dataclass(frozen=True)
class FilePolicy:
    """What an app allows (FileSettings, else the defaults) and what it already stores."""

    max_upload_bytes: int
    allowed_content_types: list[str]
    quota_bytes: int  # 0: unlimited
    enable_for_public: bool
    enable_for_authenticated: bool
    url_mode: str
    presigned_url_seconds: int
    used_bytes: int
    used_count: int


@dataclass(frozen=True)
class StoredFileRecord:
    name: str
    backend: str
    content_type: str
    size: int
    etag: str
    created_at: datetime
    metadata: dict[str, Any] = field(default_factory=dict)


def storage_key(app_pk: int, name: str) -> str:
    return f"app{int(app_pk)}/{name}"


_POLICY_SQL = """
SELECT s.max_upload_bytes, s.allowed_content_types, COALESCE(s.storage_quota_bytes, %(plan_quota)s),
       s.enable_for_public, s.enable_for_authenticated, s.url_mode, s.presigned_url_seconds,
       COALESCE(u.bytes, 0), COALESCE(u.count, 0)
FROM tenants_app a
LEFT JOIN files_filesettings s ON s.app_id = a.id
LEFT JOIN files_fileusage u ON u.app_id = a.id
WHERE a.id = %(app)s
"""


async def file_policy_get(*, caller: Caller) -> FilePolicy:
    """The app's file policy; its quota is the app's own setting, else its plan's (admitted with the app)."""
    plan_quota = caller.plan.storage_quota_bytes if caller.plan else settings.HANGAR_FILES_DEFAULT_QUOTA_BYTES
    # Pipelined: BEGIN, the app binding and the read in one round trip (every upload and download reads it).
    async with app_transaction_pipelined(caller.app_pk) as conn:
        row = await conn.fetch_one(_POLICY_SQL, {"app": caller.app_pk, "plan_quota": plan_quota})
    (max_bytes, types, quota, public, authenticated, url_mode, seconds, used, count) = row or (None,) * 9
    return FilePolicy(
        max_upload_bytes=int(max_bytes or settings.HANGAR_FILES_MAX_UPLOAD_BYTES),
        allowed_content_types=list(types or []), quota_bytes=int(quota or 0),
        enable_for_public=bool(public), enable_for_authenticated=authenticated is not False,
        url_mode=url_mode or "hangar", presigned_url_seconds=int(seconds or 3600),
        used_bytes=int(used or 0), used_count=int(count or 0),
    )  # fmt: skip


async def file_get(*, app_pk: int, name: str) -> StoredFileRecord | None:
    async with app_transaction_pipelined(app_pk) as conn:
        row = await conn.fetch_one(
            "SELECT name, backend, content_type, size, etag, created_at, metadata FROM files_storedfile"
            " WHERE app_id = %s AND name = %s",
            [app_pk, name],
        )
    return None if row is None else StoredFileRecord(*row)


def file_chunks(*, app_pk: int, record: StoredFileRecord, start: int, end: int) -> AsyncIterator[bytes]:
    """The bytes ``start..end`` (inclusive) of a stored file, read off the event loop."""
    storage = storage_for(record.backend)
    return iterate_in_thread(storage.read(storage_key(app_pk, record.name), start=start, end=end))


def file_direct_url(*, app_pk: int, record: StoredFileRecord, policy: FilePolicy) -> str | None:
    """Where to redirect a download when the app serves files from the bucket itself."""
    if policy.url_mode == "hangar":
        return None
    seconds = policy.presigned_url_seconds if policy.url_mode == "presigned" else None
    return storage_for(record.backend).direct_url(storage_key(app_pk, record.name), presigned_seconds=seconds)


def file_usage_get(*, app_pk: int) -> tuple[int, int]:
    """(bytes, files) an app stores, for the dashboard (control plane, ORM)."""
    from hangar.files.models import FileUsage

    usage = FileUsage.objects.filter(app_id=app_pk).first()
    return (usage.bytes, usage.count) if usage else (0, 0)
