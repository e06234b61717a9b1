"""Which app a request is for, its keys and its rate limit, cached per process.

An app is loaded from PostgreSQL on first use and kept with the value of its version
counter in Redis (hangar.invalidation). Every request reads that counter in the same
Redis pipeline as its rate-limit increment; when the counter moved, the app is
reloaded before the request is authorized. Keys are held only as per-process digests.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings

from hangar.datastore.change_feed import live_classes_key
from hangar.datastore.schema_registry import schema_version_key
from hangar.db_pool import get_pool
from hangar.gateway.admission_batch import versions_and_count
from hangar.gateway.errors import CONNECTION_FAILED, ParseError
from hangar.identity.roles import role_version_key
from hangar.identity.sessions import session_version_key
from hangar.invalidation import app_version_key
from hangar.redis_async import get_redis
from hangar.secretbox import decrypt_secret, memory_digest


@dataclass(frozen=True)
class AppRecord:
    pk: int
    application_id: str
    name: str
    requests_per_second: int  # 0: unlimited
    key_digests: dict[str, bytes]  # kind (client, javascript, rest, dotnet, master) -> digest
    version: bytes | None
    loaded_at: float


_LOAD_SQL = """
SELECT a.id, a.application_id, a.name,
       COALESCE(a.rate_limit_rps, p.requests_per_second, %(default_rps)s),
       COALESCE((SELECT array_agg(ARRAY[k.kind, k.ciphertext]) FROM tenants_appkey k WHERE k.app_id = a.id), '{}')
FROM tenants_app a
JOIN tenants_organization o ON o.id = a.organization_id
LEFT JOIN tenants_plan p ON p.id = o.plan_id
WHERE a.application_id = %(application_id)s AND a.status = 'active'
"""

_cache: dict[str, AppRecord] = {}


@dataclass(frozen=True)
class Admission:
    """An admitted request's app and the app's schema version as of this request."""

    app: AppRecord
    schema_version: bytes | None
    role_version: bytes | None
    session_version: bytes | None = None
    live_classes: bytes | None = None  # hangar.datastore.change_feed.live_classes_key


async def _load(application_id: str, version: bytes | None) -> AppRecord | None:
    pool = await get_pool()
    async with pool.connection() as conn:
        cursor = await conn.execute(
            _LOAD_SQL, {"application_id": application_id, "default_rps": settings.HANGAR_DEFAULT_PLAN_RPS}
        )
        row = await cursor.fetchone()
    if row is None:
        _cache.pop(application_id, None)
        return None
    pk, app_id, name, rps, keys = row
    record = AppRecord(
        pk=pk, application_id=app_id, name=name, requests_per_second=int(rps),
        key_digests={kind: memory_digest(decrypt_secret(ciphertext)) for kind, ciphertext in keys},
        version=version, loaded_at=time.monotonic(),
    )  # fmt: skip
    _cache[application_id] = record
    return record


def _rate_limited() -> ParseError:
    return ParseError(CONNECTION_FAILED, "Too many requests.", status=429, headers={"retry-after": "1"})


async def app_admit(application_id: str) -> Admission | None:
    """Return the active app for this id (None if unknown) after counting the request against its limit.

    Raises ParseError 100/429 when the app is over its requests-per-second limit.
    """
    redis = get_redis()
    record = _cache.get(application_id)
    if record is None:
        # Read the version before the row, so a change that lands in between is seen next time.
        version = await redis.get(app_version_key(application_id))
        record = await _load(application_id, version)
        if record is None:
            return None
    keys = [
        app_version_key(application_id), schema_version_key(record.pk), role_version_key(record.pk),
        session_version_key(record.pk), live_classes_key(record.pk), f"hangar:rl:{record.pk}:{int(time.time())}",
    ]  # fmt: skip
    (version, schema_version, role_version, session_version, live_classes), count = await versions_and_count(
        redis, keys, limited=bool(record.requests_per_second)
    )
    stale = time.monotonic() - record.loaded_at > settings.HANGAR_APP_CACHE_SECONDS
    if version != record.version or stale:
        reloaded = await _load(application_id, version)
        if reloaded is None:
            return None
        record = reloaded
    if record.requests_per_second and count > record.requests_per_second:
        raise _rate_limited()
    return Admission(
        app=record, schema_version=schema_version, role_version=role_version, session_version=session_version,
        live_classes=live_classes,
    )  # fmt: skip


def app_cache_clear() -> None:
    """Forget every cached app (tests; a process that lost Redis)."""
    _cache.clear()
