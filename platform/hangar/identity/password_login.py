"""Proving a user's password (``/login``, ``/verifyPassword``), without holding a transaction while hashing.

The user and the app's auth settings are read in one short transaction, the password is
verified on the hashing pool (hangar.identity.passwords) with no connection held, and
only then a second transaction confirms, under the row lock, that the hash just
verified is still the user's and that no concurrent wrong attempt locked the account
meanwhile (so parallel guesses cannot slip past the lockout), and applies a rehash.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg.types.json import Jsonb

from hangar.caller import Caller
from hangar.datastore.connection import app_transaction
from hangar.datastore.system_writes import system_object_update
from hangar.db_pool import DataPlaneConnection
from hangar.identity.auth_settings import AuthSettingsRecord, auth_settings_read
from hangar.identity.lockout import lockout_check, lockout_record_failure, login_rate_check
from hangar.identity.passwords import password_hash, password_verify
from hangar.identity.user_lookup import UserRow, user_by_id, user_by_login
from hangar.parse_errors import EMAIL_NOT_FOUND, OBJECT_NOT_FOUND, PASSWORD_MISSING, USERNAME_MISSING, ParseError

_BAD_LOGIN = "Invalid username/password."


def bad_login() -> ParseError:
    return ParseError(OBJECT_NOT_FOUND, _BAD_LOGIN)


@dataclass(frozen=True)
class PasswordProof:
    """A password verified against ``verified_hash``; ``new_hash`` replaces it when its parameters are outdated."""

    user: UserRow
    settings: AuthSettingsRecord
    verified_hash: str
    new_hash: str | None


def _login_params(params: dict[str, Any]) -> tuple[str | None, str | None, str]:
    username, email, password = params.get("username"), params.get("email"), params.get("password")
    if not username and not email:
        raise ParseError(USERNAME_MISSING, "username/email is required.")
    if not password:
        raise ParseError(PASSWORD_MISSING, "password is required.")
    if not isinstance(password, str) or any(v is not None and not isinstance(v, str) for v in (username, email)):
        raise bad_login()
    return username, email, password


def _check_may_log_in(caller: Caller, user: UserRow, params: dict[str, Any], settings: AuthSettingsRecord) -> None:
    if user.readers is not None and not user.readers and not caller.is_master:
        raise bad_login()  # an ACL of {} locks the user out (reference §5.4)
    if (
        settings.verify_user_emails
        and settings.prevent_login_with_unverified_email
        and not user.data.get("emailVerified")
    ):
        if not (caller.is_master and params.get("ignoreEmailVerification")):
            raise ParseError(EMAIL_NOT_FOUND, "User email is not verified.")


async def password_prove(*, caller: Caller, params: dict[str, Any], client_ip: str) -> PasswordProof:
    """The user these credentials prove, else 101 (the same message for an unknown user and a wrong password).

    Counts against the login rate limits and, when wrong, the account lockout, whichever route asks.
    """
    name = params.get("username") or params.get("email")
    await login_rate_check(app_pk=caller.app_pk, client_ip=client_ip, username=name if isinstance(name, str) else None)
    username, email, password = _login_params(params)
    async with app_transaction(caller.app_pk) as conn:
        settings = await auth_settings_read(conn, caller.app_pk)
        user = await user_by_login(conn, caller.app_pk, username=username, email=email)
    if user is None:
        await password_verify(None, password)
        raise bad_login()
    lockout_check(user, settings)
    stored = user.data.get("_hashed_password")
    check = await password_verify(stored, password)
    if not check.ok or not stored:
        await lockout_record_failure(caller=caller, user=user, settings=settings)
        raise bad_login()
    _check_may_log_in(caller, user, params, settings)
    new_hash = await password_hash(password) if check.needs_rehash else None
    return PasswordProof(user=user, settings=settings, verified_hash=stored, new_hash=new_hash)


async def password_proof_confirm(
    conn: DataPlaneConnection, caller: Caller, proof: PasswordProof, files_base: str = ""
) -> UserRow:
    """The user, locked in the caller's transaction, still holding the verified hash and not locked out."""
    user = await user_by_id(conn, caller.app_pk, proof.user.object_id, lock=True)
    if user is None or user.data.get("_hashed_password") != proof.verified_hash:
        raise bad_login()  # deleted, or the password changed while this one was being checked
    lockout_check(user, proof.settings)
    updates: dict[str, Any] = {}
    if proof.new_hash:
        updates["_hashed_password"] = proof.new_hash
    if user.data.get("_failed_login_count"):
        updates["_failed_login_count"] = 0
    if updates:
        # Internal fields only (a rehash, the lockout counter): updatedAt stays.
        await system_object_update(
            conn, caller=caller, class_name="_User", object_id=user.object_id, touch=False,
            data_sql="data || %s", data_params=[Jsonb(updates)], files_base=files_base,
        )  # fmt: skip
    return user
