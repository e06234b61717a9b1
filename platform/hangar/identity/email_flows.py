"""Email verification and password reset (reference §10.5): single-use expiring tokens, stored hashed.

A token is 32 random bytes (URL-safe); the user row keeps only its SHA-256 digest and
expiry (``_email_verify_token_hash`` / ``_perishable_token_hash``), so the database
never holds a usable link. Mails are sent by a Celery task (hangar.identity.tasks),
queued once the transaction that stored the token has ended, through the app's email provider
(hangar.messaging), at most once per request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings as django_settings
from psycopg.types.json import Jsonb

from hangar.caller import Caller
from hangar.datastore.connection import after_commit
from hangar.datastore.dates import date_json
from hangar.datastore.system_writes import system_object_update
from hangar.db_pool import DataPlaneConnection
from hangar.identity.auth_settings import AuthSettingsRecord

VERIFY = "verify"
RESET = "reset"
_FIELDS = {VERIFY: "_email_verify_token", RESET: "_perishable_token"}


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _token_fields_store(conn: DataPlaneConnection, caller: Caller, user_id: str, fields: dict[str, Any]) -> None:
    """Set internal token fields on the user through the datastore's write path (updatedAt stays)."""
    await system_object_update(
        conn, caller=caller, class_name="_User", object_id=user_id, touch=False,
        data_sql="data || %s", data_params=[Jsonb(fields)],
    )  # fmt: skip


async def token_issue(conn: DataPlaneConnection, *, caller: Caller, user_id: str, kind: str, minutes: int) -> str:
    """Store a new token's digest and expiry on the user (replacing any earlier one); return the token."""
    token = secrets.token_urlsafe(32)
    expires = datetime.now(UTC) + timedelta(minutes=minutes)
    prefix = _FIELDS[kind]
    await _token_fields_store(
        conn, caller, user_id, {f"{prefix}_hash": token_digest(token), f"{prefix}_expires_at": date_json(expires)}
    )
    return token


@dataclass(frozen=True)
class Mail:
    """A link to mail once the transaction that stored its token has ended."""

    app_pk: int
    user_id: str
    kind: str
    token: str


async def mail_send(mail: Mail | None) -> None:
    """Queue the mail; call it after the transaction's block (inside a batch, it waits for the batch's commit).

    Publishing to the broker is network I/O: it must not run while a transaction holds a connection.
    """
    if mail is None:
        return
    from hangar.identity.tasks import user_email_send

    async def committed() -> None:
        # Publishing to the broker is blocking I/O, and an eager task
        # (CELERY_TASK_ALWAYS_EAGER, the tests) runs Django ORM code, which refuses to run on the
        # event loop: hand it to a thread.
        # One key per request to send: a redelivered task finds its mail, a new request (the same
        # still-valid link mailed again) is a new mail.
        await sync_to_async(user_email_send.delay)(
            app_pk=mail.app_pk, user_id=mail.user_id, kind=mail.kind, token=mail.token, send_id=secrets.token_hex(8)
        )

    await after_commit(committed)


def _verify_token_for(app_pk: int, user_id: str, nonce: str) -> str:
    """The verification token of a stored nonce: an HMAC under the server's secret, so a stored nonce alone
    (a database dump) is no usable link, yet the still-valid link can be mailed again."""
    message = f"verify:{app_pk}:{user_id}:{nonce}".encode()
    digest = hmac.new(django_settings.SECRET_KEY.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _still_valid_token(app_pk: int, user_id: str, user_data: dict[str, Any]) -> str | None:
    nonce = user_data.get("_email_verify_token_nonce")
    if not isinstance(nonce, str):
        return None
    token = _verify_token_for(app_pk, user_id, nonce)
    return token if token_matches(user_data, VERIFY, token) else None  # unexpired, and not replaced meanwhile


async def _verify_token_issue(conn: DataPlaneConnection, *, caller: Caller, user_id: str, minutes: int) -> str:
    nonce = secrets.token_urlsafe(16)
    token = _verify_token_for(caller.app_pk, user_id, nonce)
    expires = datetime.now(UTC) + timedelta(minutes=minutes)
    fields = {
        "_email_verify_token_hash": token_digest(token),
        "_email_verify_token_expires_at": date_json(expires),
        "_email_verify_token_nonce": nonce,
    }
    await _token_fields_store(conn, caller, user_id, fields)
    return token


async def verification_start(
    conn: DataPlaneConnection, *, caller: Caller, user_id: str, settings: AuthSettingsRecord,
    reuse_from: dict[str, Any] | None = None,
) -> Mail | None:  # fmt: skip
    """Issue a verification token; the mail to send (see ``mail_send``) when the app verifies emails.

    With ``reuse_from`` (the user's data) and the app's ``email_verify_token_reuse_if_valid``, a still-valid
    link is mailed again, its expiry unchanged, as Parse Server's ``emailVerifyTokenReuseIfValid`` does;
    otherwise a new link replaces the earlier one. An email change never reuses: the old link was for the
    old address.
    """
    if not settings.verify_user_emails:
        return None
    token = None
    if reuse_from is not None and settings.email_verify_token_reuse_if_valid:
        token = _still_valid_token(caller.app_pk, user_id, reuse_from)
    if token is None:
        token = await _verify_token_issue(
            conn, caller=caller, user_id=user_id, minutes=settings.email_verify_token_minutes
        )
    return Mail(app_pk=caller.app_pk, user_id=user_id, kind=VERIFY, token=token)


async def reset_start(
    conn: DataPlaneConnection, *, caller: Caller, user_id: str, settings: AuthSettingsRecord
) -> Mail:  # fmt: skip
    """Issue a reset token; the mail to send (see ``mail_send``)."""
    token = await token_issue(conn, caller=caller, user_id=user_id, kind=RESET, minutes=settings.reset_token_minutes)
    return Mail(app_pk=caller.app_pk, user_id=user_id, kind=RESET, token=token)


def token_matches(data: dict[str, Any], kind: str, token: str) -> bool:
    from hangar.datastore.dates import parse_date

    prefix = _FIELDS[kind]
    stored = data.get(f"{prefix}_hash")
    expires = data.get(f"{prefix}_expires_at")
    if not stored or not expires or parse_date(expires) <= datetime.now(UTC):
        return False
    return secrets.compare_digest(stored, token_digest(token))
