"""Account lockout (Parse Server's ``accountLockout``) and login rate limits.

Lockout state lives on the user row (``_failed_login_count``,
``_account_lockout_expires_at``): after ``lockout_threshold`` wrong passwords the
account refuses every login, even with the right password, for ``lockout_minutes``.
Rate limits count login attempts per client IP and per username in Redis, per
minute, in one pipeline (HANGAR_LOGIN_RATE_PER_IP, HANGAR_LOGIN_RATE_PER_USERNAME).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from django.conf import settings
from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from hangar.datastore.dates import date_json, parse_date
from hangar.identity.auth_settings import AuthSettingsRecord
from hangar.identity.user_lookup import UserRow
from hangar.parse_errors import CONNECTION_FAILED, OBJECT_NOT_FOUND, ParseError
from hangar.redis_async import get_redis


def _locked_error(minutes: int) -> ParseError:
    return ParseError(
        OBJECT_NOT_FOUND,
        f"Your account is locked due to multiple failed login attempts. Please try again after {minutes} minute(s)",
    )


def lockout_check(user: UserRow, settings: AuthSettingsRecord) -> None:
    until = user.data.get("_account_lockout_expires_at")
    if settings.lockout_threshold and until and parse_date(until) > datetime.now(UTC):
        raise _locked_error(settings.lockout_minutes)


async def lockout_record_failure(
    conn: AsyncConnection, app_pk: int, user: UserRow, settings: AuthSettingsRecord
) -> None:
    """Count a wrong password; at the threshold, lock the account (and say so, as Parse Server does)."""
    if not settings.lockout_threshold:
        return
    count = int(user.data.get("_failed_login_count") or 0) + 1
    changes: dict[str, object] = {"_failed_login_count": count}
    locked = count >= settings.lockout_threshold
    if locked:
        until = datetime.now(UTC) + timedelta(minutes=settings.lockout_minutes)
        changes = {"_failed_login_count": 0, "_account_lockout_expires_at": date_json(until)}
    await conn.execute(
        "UPDATE datastore_object SET data = data || %s WHERE app_id = %s AND class_name = '_User' AND object_id = %s",
        [Jsonb(changes), app_pk, user.object_id],
    )
    if locked:
        raise _locked_error(settings.lockout_minutes)


async def login_rate_check(*, app_pk: int, client_ip: str, username: str | None) -> None:
    """429/100 when this IP or this username tried to log in too often in the current minute."""
    minute = int(time.time() // 60)
    keys = [(f"hangar:loginrl:{app_pk}:ip:{client_ip}:{minute}", settings.HANGAR_LOGIN_RATE_PER_IP)]
    if username:
        keys.append(
            (f"hangar:loginrl:{app_pk}:user:{username.lower()}:{minute}", settings.HANGAR_LOGIN_RATE_PER_USERNAME)
        )
    async with get_redis().pipeline(transaction=False) as pipe:
        for key, _ in keys:
            pipe.incr(key)
            pipe.expire(key, 120)
        results = await pipe.execute()
    counts = results[0::2]
    if any(limit and count > limit for count, (_, limit) in zip(counts, keys, strict=True)):
        raise ParseError(CONNECTION_FAILED, "Too many requests.", status=429, headers={"retry-after": "60"})
