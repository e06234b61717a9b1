"""Session token → user, on the data plane's hot path.

Tokens are stored as SHA-256 digests (``_session_token_hash`` inside the ``_Session``
object), so a leaked database does not leak live sessions. Lookups are cached per
process for a short time.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from hangar.datastore.connection import app_transaction
from hangar.datastore.dates import parse_date
from hangar.datastore.partitions import object_partition
from hangar.parse_errors import INVALID_SESSION_TOKEN, ParseError

SESSION_CACHE_SECONDS = 30.0


@dataclass(frozen=True)
class SessionRecord:
    user_id: str
    expires_at: datetime | None
    cached_at: float


_cache: dict[tuple[int, str], SessionRecord] = {}

_LOOKUP_SQL = """
SELECT data->'user'->>'objectId', data->'expiresAt'
FROM {table}
WHERE app_id = %s AND class_name = '_Session' AND data->>'_session_token_hash' = %s
"""


def session_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def session_user_id(*, app_pk: int, token: str) -> str:
    """The user id the token belongs to; Parse's 209 for an unknown or expired token."""
    digest = session_token_hash(token)
    record = _cache.get((app_pk, digest))
    if record is None or time.monotonic() - record.cached_at > SESSION_CACHE_SECONDS:
        async with app_transaction(app_pk) as conn:
            cursor = await conn.execute(_LOOKUP_SQL.format(table=object_partition(app_pk)), [app_pk, digest])
            row = await cursor.fetchone()
        if row is None or not row[0]:
            _cache.pop((app_pk, digest), None)
            raise ParseError(INVALID_SESSION_TOKEN, "Invalid session token")
        expires_at = parse_date(row[1]) if row[1] else None
        record = SessionRecord(user_id=row[0], expires_at=expires_at, cached_at=time.monotonic())
        _cache[(app_pk, digest)] = record
    if record.expires_at is not None and record.expires_at <= datetime.now(UTC):
        raise ParseError(INVALID_SESSION_TOKEN, "Session token is expired.")
    return record.user_id


def session_cache_forget(*, app_pk: int, token_hash: str | None = None) -> None:
    """Drop cached sessions of an app (one token, or all of them)."""
    for key in [k for k in _cache if k[0] == app_pk and (token_hash is None or k[1] == token_hash)]:
        _cache.pop(key, None)
