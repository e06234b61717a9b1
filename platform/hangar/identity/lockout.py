"""Account lockout (Parse Server's ``accountLockout``) and login rate limits.

Lockout state lives on the user row (``_failed_login_count``,
``_account_lockout_expires_at``): after ``lockout_threshold`` wrong passwords the
account refuses every login, even with the right password, for ``lockout_minutes``.
Rate limits count login attempts per client IP and per username in Redis, per
minute, in one pipeline (HANGAR_LOGIN_RATE_PER_IP, HANGAR_LOGIN_RATE_PER_USERNAME); sign-ups
per client IP likewise (HANGAR_SIGNUP_RATE_PER_IP).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from django.conf import settings
from psycopg.types.json import Jsonb

from hangar.caller import Caller
from hangar.datastore.connection import app_transaction
from hangar.datastore.dates import date_json, parse_date
from hangar.datastore.system_writes import system_object_update
from hangar.db_pool import DataPlaneConnection
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


async def lockout_record_failure(*, caller: Caller, user: UserRow, settings: AuthSettingsRecord) -> None:
    """Count a wrong password; at the threshold, lock the account (and say so, as Parse Server does).

    The count is incremented by the statement itself: the password was verified outside any
    transaction, so concurrent wrong attempts must not overwrite each other's count.
    """
    if not settings.lockout_threshold:
        return
    until = datetime.now(UTC) + timedelta(minutes=settings.lockout_minutes)
    async with app_transaction(caller.app_pk) as conn:
        locked = await _failure_count(conn, caller, user, settings.lockout_threshold, date_json(until))
    if locked:
        raise _locked_error(settings.lockout_minutes)


async def _failure_count(
    conn: DataPlaneConnection, caller: Caller, user: UserRow, threshold: int, until: dict[str, str]
) -> bool:
    """Add one failure to the user's count, or lock the account at the threshold; whether it locked.

    Internal fields only: ``updatedAt`` stays, and hooks and listeners see an unchanged user.
    """
    updated = await system_object_update(
        conn, caller=caller, class_name="_User", object_id=user.object_id, touch=False,
        data_sql="CASE WHEN COALESCE((data->>'_failed_login_count')::int, 0) + 1 >= %s "
        "THEN data || %s ELSE data || jsonb_build_object('_failed_login_count', "
        "COALESCE((data->>'_failed_login_count')::int, 0) + 1) END",
        data_params=[threshold, Jsonb({"_failed_login_count": 0, "_account_lockout_expires_at": until})],
    )  # fmt: skip
    return updated is not None and updated.after.get("_failed_login_count") == 0


async def _rate_check(keys: list[tuple[str, int]], *, window_seconds: int = 60) -> None:
    """429/100 when any of these counters of the current window went past its limit (0: unlimited); one pipeline."""
    keys = [(key, limit) for key, limit in keys if limit]
    if not keys:
        return
    async with get_redis().pipeline(transaction=False) as pipe:
        for key, _ in keys:
            pipe.incr(key)
            pipe.expire(key, 2 * window_seconds)
        results = await pipe.execute()
    counts = results[0::2]
    if any(count > limit for count, (_, limit) in zip(counts, keys, strict=True)):
        raise ParseError(
            CONNECTION_FAILED, "Too many requests.", status=429, headers={"retry-after": str(window_seconds)}
        )


async def login_rate_check(*, app_pk: int, client_ip: str, username: str | None) -> None:
    """429/100 when this IP or this username tried a password too often in the current minute.

    Every route that checks a password counts here (``/login``, ``/verifyPassword``).
    """
    minute = int(time.time() // 60)
    keys = [(f"hangar:loginrl:{app_pk}:ip:{client_ip}:{minute}", settings.HANGAR_LOGIN_RATE_PER_IP)]
    if username:
        keys.append(
            (f"hangar:loginrl:{app_pk}:user:{username.lower()}:{minute}", settings.HANGAR_LOGIN_RATE_PER_USERNAME)
        )
    await _rate_check(keys)


async def signup_rate_check(*, app_pk: int, client_ip: str) -> None:
    """429/100 when this IP signed up too many users of the app in the current minute."""
    minute = int(time.time() // 60)
    await _rate_check([(f"hangar:signuprl:{app_pk}:ip:{client_ip}:{minute}", settings.HANGAR_SIGNUP_RATE_PER_IP)])


async def account_mail_rate_check(*, app_pk: int, client_ip: str, email: str) -> None:
    """429/100 when this IP asked for too many account mails this minute, or this address for too many this hour.

    ``/requestPasswordReset`` and ``/verificationEmailRequest`` mail whoever owns the address, so
    without a limit anyone holding the client key could flood a user's inbox (and the app's
    sender reputation). The address is counted whether or not it has an account, so the 429
    tells nothing about which addresses do.
    """
    minute, hour = int(time.time() // 60), int(time.time() // 3600)
    await _rate_check([(f"hangar:mailrl:{app_pk}:ip:{client_ip}:{minute}", settings.HANGAR_ACCOUNT_MAIL_RATE_PER_IP)])
    await _rate_check(
        [(f"hangar:mailrl:{app_pk}:email:{email.lower()}:{hour}", settings.HANGAR_ACCOUNT_MAIL_RATE_PER_EMAIL)],
        window_seconds=3600,
    )


async def mfa_rate_check(*, app_pk: int, user_id: str) -> None:
    """429/100 when this user's second factor was tried too often this minute or this hour.

    Every code counts, right or wrong, at login and when MFA is changed: at 5 a minute and 30 an
    hour (the defaults), guessing a 6-digit code (3 valid at a time) takes years.
    """
    minute, hour = int(time.time() // 60), int(time.time() // 3600)
    await _rate_check([(f"hangar:mfarl:{app_pk}:{user_id}:{minute}", settings.HANGAR_MFA_RATE_PER_USER)])
    await _rate_check(
        [(f"hangar:mfarl:{app_pk}:{user_id}:h{hour}", settings.HANGAR_MFA_RATE_PER_USER_HOUR)], window_seconds=3600
    )


async def mfa_sms_rate_check(*, app_pk: int, user_id: str) -> None:
    """429/100 when this user had too many codes texted this hour (each one costs the app an SMS)."""
    hour = int(time.time() // 3600)
    await _rate_check(
        [(f"hangar:mfasms:{app_pk}:{user_id}:{hour}", settings.HANGAR_MFA_SMS_PER_USER_HOUR)], window_seconds=3600
    )
