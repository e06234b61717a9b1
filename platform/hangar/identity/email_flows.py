"""Email verification and password reset (reference §10.5): single-use expiring tokens, stored hashed.

A token is 32 random bytes (URL-safe); the user row keeps only its SHA-256 digest and
expiry (``_email_verify_token_hash`` / ``_perishable_token_hash``), so the database
never holds a usable link. Mails are sent by a Celery task (hangar.identity.tasks)
after the transaction commits, through Django's email backend.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from asgiref.sync import sync_to_async
from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from hangar.datastore.connection import after_commit
from hangar.datastore.dates import date_json
from hangar.identity.auth_settings import AuthSettingsRecord

VERIFY = "verify"
RESET = "reset"
_FIELDS = {VERIFY: "_email_verify_token", RESET: "_perishable_token"}


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def token_issue(conn: AsyncConnection, *, app_pk: int, user_id: str, kind: str, minutes: int) -> str:
    """Store a new token's digest and expiry on the user (replacing any earlier one); return the token."""
    token = secrets.token_urlsafe(32)
    expires = datetime.now(UTC) + timedelta(minutes=minutes)
    prefix = _FIELDS[kind]
    await conn.execute(
        "UPDATE datastore_object SET data = data || %s WHERE app_id = %s AND class_name = '_User' AND object_id = %s",
        [Jsonb({f"{prefix}_hash": token_digest(token), f"{prefix}_expires_at": date_json(expires)}), app_pk, user_id],
    )
    return token


async def _mail_after_commit(*, app_pk: int, user_id: str, kind: str, token: str) -> None:
    from hangar.identity.tasks import user_email_send

    async def committed() -> None:
        # Publishing to the broker is blocking I/O, and an eager task
        # (CELERY_TASK_ALWAYS_EAGER, the tests) runs Django ORM code, which refuses to run on the
        # event loop: hand it to a thread.
        await sync_to_async(user_email_send.delay)(app_pk=app_pk, user_id=user_id, kind=kind, token=token)

    await after_commit(committed)


async def verification_start(conn: AsyncConnection, *, app_pk: int, user_id: str, settings: AuthSettingsRecord) -> None:
    """Issue a verification token and mail the link after commit (only when the app verifies emails)."""
    if not settings.verify_user_emails:
        return
    token = await token_issue(
        conn, app_pk=app_pk, user_id=user_id, kind=VERIFY, minutes=settings.email_verify_token_minutes
    )
    await _mail_after_commit(app_pk=app_pk, user_id=user_id, kind=VERIFY, token=token)


async def reset_start(conn: AsyncConnection, *, app_pk: int, user_id: str, settings: AuthSettingsRecord) -> None:
    token = await token_issue(conn, app_pk=app_pk, user_id=user_id, kind=RESET, minutes=settings.reset_token_minutes)
    await _mail_after_commit(app_pk=app_pk, user_id=user_id, kind=RESET, token=token)


def token_matches(data: dict[str, Any], kind: str, token: str) -> bool:
    from hangar.datastore.dates import parse_date

    prefix = _FIELDS[kind]
    stored = data.get(f"{prefix}_hash")
    expires = data.get(f"{prefix}_expires_at")
    if not stored or not expires or parse_date(expires) <= datetime.now(UTC):
        return False
    return secrets.compare_digest(stored, token_digest(token))
