"""Sessions (reference §10.6): token → user on the hot path, creation and revocation.

Tokens are ``r:`` + 32 hex characters (§5.5) and are stored only as SHA-256 digests
(``_session_token_hash`` inside the ``_Session`` object), so a leaked database does not
leak live sessions. The plain token is returned once, to the client that logs in.

Lookups are cached per process for up to 30 s, keyed by the app's **session version**
(``hangar:sessver:<app>`` in Redis). The gateway reads that counter in the Redis
pipeline it already runs on every request (hangar.admission.registry, next to the
app, schema and role versions), so checking it costs no extra round trip. Every
revocation (logout, session delete, password change, user delete) bumps it after
commit: the next request in every process re-reads its session from PostgreSQL, and a
revoked token answers 209 at once.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings

from hangar.bounded_cache import LruCache
from hangar.caller import Caller
from hangar.datastore.connection import app_statement, app_transaction
from hangar.datastore.dates import date_json, parse_date
from hangar.datastore.hooks import hooks
from hangar.datastore.objects import new_object_id, now_ms
from hangar.datastore.partitions import object_partition
from hangar.datastore.system_writes import system_object_insert, system_objects_delete
from hangar.db_pool import DataPlaneConnection
from hangar.parse_errors import INVALID_SESSION_TOKEN, ParseError
from hangar.redis_async import get_redis

SESSION_CACHE_SECONDS = 30.0


@dataclass(frozen=True)
class SessionRecord:
    user_id: str
    expires_at: datetime | None
    cached_at: float
    version: bytes | None = None


_cache: LruCache[tuple[int, str], SessionRecord] = LruCache("sessions", lambda: settings.HANGAR_CACHE_MAX_SESSIONS)

_LOOKUP_SQL = """
SELECT data->'user'->>'objectId', data->'expiresAt'
FROM {table}
WHERE app_id = %s AND class_name = '_Session' AND data->>'_session_token_hash' = %s
"""


def session_version_key(app_pk: int) -> str:
    return f"hangar:sessver:{app_pk}"


def sessions_changed_channel(app_pk: int) -> str:
    """Pub/sub channel told of every revocation, for holders of long-lived connections (LiveQuery)."""
    return f"hangar:sessions-changed:{app_pk}"


def session_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_session_token() -> str:
    return "r:" + secrets.token_hex(16)


async def session_user_id(*, app_pk: int, token: str, session_version: bytes | None = None) -> str:
    """The user id the token belongs to; Parse's 209 for an unknown, revoked or expired token."""
    digest = session_token_hash(token)
    record = _cache.get((app_pk, digest))
    fresh = (
        record is not None
        and record.version == session_version
        and time.monotonic() - record.cached_at <= SESSION_CACHE_SECONDS
    )
    if not fresh:
        async with app_statement(app_pk) as conn:
            row = await conn.fetch_one(_LOOKUP_SQL.format(table=object_partition(app_pk)), [app_pk, digest])
        if row is None or not row[0]:
            _cache.pop((app_pk, digest), None)
            raise ParseError(INVALID_SESSION_TOKEN, "Invalid session token")
        expires_at = parse_date(row[1]) if row[1] else None
        record = SessionRecord(
            user_id=row[0], expires_at=expires_at, cached_at=time.monotonic(), version=session_version
        )
        _cache[(app_pk, digest)] = record
    assert record is not None
    if record.expires_at is not None and record.expires_at <= datetime.now(UTC):
        raise ParseError(INVALID_SESSION_TOKEN, "Session token is expired.")
    return record.user_id


def session_cache_forget(*, app_pk: int, token_hash: str | None = None) -> None:
    """Drop cached sessions of an app (one token, or all of them) in this process."""
    for key in [k for k in _cache if k[0] == app_pk and (token_hash is None or k[1] == token_hash)]:
        _cache.pop(key, None)


async def sessions_changed(app_pk: int) -> None:
    """After a committed revocation: every process re-validates this app's sessions on next use."""
    session_cache_forget(app_pk=app_pk)
    # The counter covers requests; the message reaches connections that send no more requests.
    async with get_redis().pipeline(transaction=False) as pipe:
        pipe.incr(session_version_key(app_pk))
        pipe.publish(sessions_changed_channel(app_pk), b"1")
        await pipe.execute()


async def session_insert(
    conn: DataPlaneConnection, *, caller: Caller, user_id: str, created_with: dict[str, str],
    session_length_seconds: int, extra: dict[str, Any] | None = None,
) -> tuple[str, dict[str, Any]]:  # fmt: skip
    """Insert a ``_Session`` for the caller's installation in the open unit; returns the plain token and the
    wire session. Through the datastore's write path: hooks and listeners see it, never the token digest."""
    token, object_id, stamp = new_session_token(), new_object_id(), now_ms()
    pointer = {"__type": "Pointer", "className": "_User", "objectId": user_id}
    data: dict[str, Any] = {
        **(extra or {}), "user": pointer, "createdWith": created_with,
        "expiresAt": date_json(stamp + timedelta(seconds=session_length_seconds)),
        "_session_token_hash": session_token_hash(token),
    }  # fmt: skip
    if caller.installation_id:
        data["installationId"] = caller.installation_id
    # No ACL document (as Parse Server), but only the owner may read or change it.
    wire = await system_object_insert(
        conn, caller=caller, class_name="_Session", object_id=object_id, data=data,
        readers=[user_id], writers=[user_id], stamp=stamp,
    )  # fmt: skip
    return token, {**wire, "sessionToken": token}


async def sessions_delete_for_user(
    conn: DataPlaneConnection, *, caller: Caller, user_id: str, installation_id: str | None = None
) -> int:
    """Delete a user's sessions (only those of one installation, if given) in the open unit.

    Revoked in every process once the unit commits (``SessionRules.changed``), when any was deleted.
    """
    condition = "data->'user'->>'objectId' = %s"
    params: list[Any] = [user_id]
    if installation_id:
        condition += " AND data->>'installationId' = %s"
        params.append(installation_id)
    deleted = await system_objects_delete(
        conn, caller=caller, class_name="_Session", condition=condition, params=params
    )
    return len(deleted)


async def session_delete_by_token(*, caller: Caller, token: str) -> bool:
    """Logout: delete the session of this token; True if there was one (revoked at once in every process)."""
    async with app_transaction(caller.app_pk) as conn:
        deleted = await system_objects_delete(
            conn, caller=caller, class_name="_Session", condition="data->>'_session_token_hash' = %s",
            params=[session_token_hash(token)],
        )  # fmt: skip
    if deleted:
        session = {"objectId": deleted[0], "className": "_Session"}
        await hooks().after_logout(caller=caller, session=session)  # after commit: the unit above has closed
    return bool(deleted)
