"""The rules of the ``_User`` and ``_Session`` classes, in one place (reference §10.1, §10.5, §14).

Both ``/users`` and the generic ``/classes/_User`` path (hangar.datastore.objects) call
these hooks, so a user written either way gets the same treatment: the password is
hashed into ``_hashed_password`` and never stored or returned in plain text, username
and email are unique per app (email case-insensitively), ``emailVerified`` is
master-only, only the user themself (or master) may change or delete the user, and a
new user's ACL is private to them (Parse Server 7's ``enforcePrivateUsers``). ``authData``, in
whatever form the body spells it, goes through hangar.identity.auth_data_rules.
"""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass
from typing import Any

from psycopg.errors import UniqueViolation

from hangar.caller import Caller
from hangar.datastore.class_rules import PreparedWrite
from hangar.datastore.connection import app_transaction
from hangar.identity import mfa
from hangar.identity.auth_data_rules import (
    auth_data_from_body,
    auth_data_owners_check,
    auth_data_proven,
    with_anonymous_dropped,
)
from hangar.identity.auth_settings import AuthSettingsRecord, auth_settings_get, auth_settings_read
from hangar.identity.lockout import mfa_rate_check, mfa_sms_rate_check, signup_rate_check
from hangar.identity.mfa import MfaChange
from hangar.identity.passwords import password_hash, password_in_history, password_policy_check
from hangar.identity.user_lookup import UserRow, user_by_id, user_id_with
from hangar.parse_errors import (
    ACCOUNT_ALREADY_LINKED,
    DUPLICATE_VALUE,
    EMAIL_TAKEN,
    INVALID_EMAIL_ADDRESS,
    INVALID_KEY_NAME,
    OBJECT_NOT_FOUND,
    OPERATION_FORBIDDEN,
    OTHER_CAUSE,
    PASSWORD_MISSING,
    SESSION_MISSING,
    USERNAME_MISSING,
    USERNAME_TAKEN,
    VALIDATION_ERROR,
    ParseError,
)

_EMAIL = re.compile(r"^.+@.+$")
# Both are unique per app through btree indexes (datastore 0007) whose entries hold at most
# 2704 bytes: 512 characters of up to 4 UTF-8 bytes stay inside, and 254 is SMTP's own
# limit for an address (RFC 5321), so no longer address could receive mail anyway.
MAX_USERNAME_LENGTH = 512
MAX_EMAIL_LENGTH = 254
_SESSION_IMMUTABLE = ("user", "installationId", "sessionToken", "expiresAt", "createdWith")
_USERNAME_ALPHABET = string.ascii_lowercase + string.digits


@dataclass
class UserWrite(PreparedWrite):
    """What the generic write path applies: the cleaned body, internal fields, and what happened."""

    password_changed: bool = False
    email_changed: bool = False
    mfa_change: MfaChange | None = None


def username_taken() -> ParseError:
    return ParseError(USERNAME_TAKEN, "Account already exists for this username.")


def email_taken() -> ParseError:
    return ParseError(EMAIL_TAKEN, "Account already exists for this email address.")


def unique_violation_error(exc: UniqueViolation) -> ParseError:
    """The Parse error for a unique index the database enforced (two concurrent sign-ups)."""
    detail = exc.diag.message_detail or ""
    if "'email'" in detail:
        return email_taken()
    if "'username'" in detail:
        return username_taken()
    if "'authData'" in detail:  # two first links of one provider id raced (datastore 0011)
        return ParseError(ACCOUNT_ALREADY_LINKED, "this auth is already used")
    return ParseError(DUPLICATE_VALUE, "A duplicate value for a field with unique values was provided")


def _own_acl(acl: Any, user_id: str) -> dict[str, Any]:
    acl = dict(acl) if isinstance(acl, dict) else {}
    acl[user_id] = {"read": True, "write": True}
    return acl


def _check_email(email: Any) -> None:
    if not isinstance(email, str) or len(email) > MAX_EMAIL_LENGTH or not _EMAIL.match(email):
        raise ParseError(INVALID_EMAIL_ADDRESS, "Email address format is invalid.")


def _check_password_value(password: Any, settings: AuthSettingsRecord, username: str | None) -> str:
    if not isinstance(password, str) or not password:
        raise ParseError(PASSWORD_MISSING, "password is required")
    password_policy_check(
        password=password, username=username, min_length=settings.password_min_length,
        pattern=settings.password_pattern, disallow_username=settings.password_disallow_username,
    )  # fmt: skip
    return password


async def _check_unique(conn: Any, app_pk: int, body: dict[str, Any], user_id: str | None) -> None:
    if isinstance(body.get("username"), str) and await user_id_with(
        conn, app_pk, field="username", value=body["username"], exclude_id=user_id
    ):
        raise username_taken()
    if isinstance(body.get("email"), str) and await user_id_with(
        conn, app_pk, field="email", value=body["email"], exclude_id=user_id
    ):
        raise email_taken()


def _check_common(caller: Caller, body: dict[str, Any]) -> None:
    if "emailVerified" in body and not caller.is_master:
        raise ParseError(OPERATION_FORBIDDEN, "Clients aren't allowed to manually update email verification.")
    if "email" in body and body["email"] is not None:
        _check_email(body["email"])
    if "username" in body and (not isinstance(body["username"], str) or not body["username"]):
        raise ParseError(USERNAME_MISSING, "bad or missing username")
    if len(body.get("username") or "") > MAX_USERNAME_LENGTH:
        raise ParseError(USERNAME_MISSING, f"username is longer than {MAX_USERNAME_LENGTH} characters")


async def user_before_create(*, caller: Caller, body: dict[str, Any], object_id: str) -> UserWrite:
    """Validate and transform a new ``_User`` (sign-up, ``POST /classes/_User``).

    authData is proven with its provider and the password hashed while no transaction is held.
    """
    body, auth_data = auth_data_from_body(body)
    if auth_data and mfa.PROVIDER in auth_data:
        raise ParseError(OTHER_CAUSE, "MFA is added to an existing user: sign up first, then link mfa")
    _check_common(caller, body)
    if not caller.is_master and caller.client_ip:
        await signup_rate_check(app_pk=caller.app_pk, client_ip=caller.client_ip)
    settings: AuthSettingsRecord | None = None
    if auth_data is not None:
        settings = await auth_settings_get(caller.app_pk)
        body["authData"] = await auth_data_proven(auth_data, settings, None)
        body.setdefault("username", "".join(secrets.choice(_USERNAME_ALPHABET) for _ in range(25)))
    elif not body.get("username"):
        raise ParseError(USERNAME_MISSING, "bad or missing username")
    write = UserWrite(body=body)
    password: str | None = None
    async with app_transaction(caller.app_pk) as conn:
        settings = settings or await auth_settings_read(conn, caller.app_pk)
        if auth_data is not None:
            await auth_data_owners_check(conn, caller, body["authData"], None)
        if auth_data is None or "password" in body:
            password = _check_password_value(body.pop("password", None), settings, body.get("username"))
        await _check_unique(conn, caller.app_pk, body, None)
    if password is not None:
        write.internal["_hashed_password"] = await password_hash(password)
    if "ACL" not in body or not caller.is_master:
        body["ACL"] = _own_acl(body.get("ACL") if "ACL" in body else None, object_id)
    if settings.verify_user_emails and body.get("email"):
        body["emailVerified"] = False
        write.email_changed = True
    return write


def _check_may_write(caller: Caller, object_id: str) -> None:
    if caller.is_master:
        return
    if caller.user_id is None:
        raise ParseError(SESSION_MISSING, f"Cannot modify user {object_id}.")
    if caller.user_id != object_id:
        raise ParseError(SESSION_MISSING, "Insufficient auth.")


async def _new_password(
    row: UserRow | None, password: str, write: UserWrite, settings: AuthSettingsRecord
) -> None:  # fmt: skip
    """Refuse a recent password (history) and hash the new one; runs with no transaction held."""
    if row is not None and settings.password_history:
        old = [h for h in [row.data.get("_hashed_password"), *(row.data.get("_password_history") or [])] if h]
        if await password_in_history(old[: settings.password_history + 1], password):
            raise ParseError(
                VALIDATION_ERROR, f"New password should not be the same as last {settings.password_history} passwords."
            )
        write.internal["_password_history"] = old[: settings.password_history]
    write.internal["_hashed_password"] = await password_hash(password)
    write.internal["_failed_login_count"] = None
    write.internal["_account_lockout_expires_at"] = None
    write.password_changed = True


async def user_before_update(*, caller: Caller, object_id: str, body: dict[str, Any]) -> UserWrite:
    """Validate and transform a change to a ``_User``; only the user themself or master.

    authData is proven with its provider and the password checked and hashed while no transaction is held.
    """
    _check_may_write(caller, object_id)
    body, requested = auth_data_from_body(body)
    _check_common(caller, body)
    write = UserWrite(body=body)
    if requested is not None and mfa.PROVIDER in requested:
        # The second factor is not a login method: it neither unlinks ``anonymous`` nor goes to a provider.
        write.mfa_change = await _mfa_change(caller, object_id, requested.pop(mfa.PROVIDER))
        requested = requested or None
    requested = with_anonymous_dropped(requested, password_set="password" in body)
    stored = None
    settings: AuthSettingsRecord | None = None
    if requested is not None:
        settings = await auth_settings_get(caller.app_pk)
        stored = await auth_data_proven(requested, settings, object_id)
    password: str | None = None
    row: UserRow | None = None
    async with app_transaction(caller.app_pk) as conn:
        settings = settings or await auth_settings_read(conn, caller.app_pk)
        await _check_unique(conn, caller.app_pk, body, object_id)
        if "password" in body:
            row = await user_by_id(conn, caller.app_pk, object_id)
            current_username = body.get("username") or (row.username if row else None)
            password = _check_password_value(body.pop("password"), settings, current_username)
        if stored is not None:
            await auth_data_owners_check(conn, caller, stored, object_id)
            # Linking merges provider by provider; ``null`` unlinks one (reference §10.2). These dotted
            # keys are written here, after validation; a client's own were folded in above.
            body.update({f"authData.{provider}": data for provider, data in stored.items()})
    if password is not None:
        await _new_password(row, password, write, settings)
    if write.mfa_change is not None:
        write.internal.update(write.mfa_change.internal)
        if not write.mfa_change.keep:
            body[f"authData.{mfa.PROVIDER}"] = write.mfa_change.auth_data
    if "ACL" in body and not caller.is_master:
        body["ACL"] = _own_acl(body["ACL"], object_id)
    if settings.verify_user_emails and body.get("email"):
        body["emailVerified"] = False
        write.email_changed = True
    return write


async def _mfa_change(caller: Caller, object_id: str, requested: Any) -> MfaChange:
    """What the user's ``authData.mfa`` update does (hangar.identity.mfa); codes count against the rate limit."""
    settings = await auth_settings_get(caller.app_pk)
    if isinstance(requested, dict) and ("token" in requested or "old" in requested):
        await mfa_rate_check(app_pk=caller.app_pk, user_id=object_id)
    if isinstance(requested, dict) and "mobile" in requested and "token" not in requested:
        await mfa_sms_rate_check(app_pk=caller.app_pk, user_id=object_id)
    async with app_transaction(caller.app_pk) as conn:
        row = await user_by_id(conn, caller.app_pk, object_id, lock=True)
        if row is None:
            raise ParseError(OBJECT_NOT_FOUND, "Object not found.")
        change = mfa.mfa_update(caller=caller, data=requested, user_data=row.data, settings=settings)
        if change.spent:
            # Spent now, under the row lock: the update that follows cannot be raced with the same code.
            await mfa.internal_fields_store(conn, caller, object_id, change.spent)
    return change


def user_before_delete(*, caller: Caller, object_id: str) -> None:
    if not caller.is_master and caller.user_id is None:
        raise ParseError(SESSION_MISSING, "Insufficient auth to delete user")


def session_before_write(*, caller: Caller, body: dict[str, Any], is_create: bool) -> None:
    """``_Session`` through ``/classes``: clients create sessions by logging in, and never re-point one."""
    if caller.is_master:
        return
    if is_create:
        raise ParseError(
            OPERATION_FORBIDDEN, "Clients aren't allowed to perform the create operation on the _Session collection."
        )
    if "ACL" in body:
        raise ParseError(INVALID_KEY_NAME, "Cannot set ACL on a Session.")
    for name in _SESSION_IMMUTABLE:
        if name in body:
            raise ParseError(INVALID_KEY_NAME, f"Invalid field name for update: {name}")


def _created_with(write: UserWrite) -> dict[str, str]:
    providers = sorted((write.body.get("authData") or {}).keys())
    if providers:
        # Parse Server records a first authData sign-up as a login with the provider(s) (reference §10.2).
        return {"action": "login", "authProvider": ",".join(providers)}
    return {"action": "signup", "authProvider": "password"}


async def user_after_create(*, caller: Caller, object_id: str, write: UserWrite) -> dict[str, Any]:
    """Open the new user's first session (sign-up logs in) and send the verification email if asked."""
    from hangar.identity import email_flows
    from hangar.identity.sessions import session_insert

    mail: email_flows.Mail | None = None
    token: str | None = None
    async with app_transaction(caller.app_pk) as conn:
        settings = await auth_settings_read(conn, caller.app_pk)
        if write.email_changed:
            mail = await email_flows.verification_start(conn, caller=caller, user_id=object_id, settings=settings)
        if not (settings.verify_user_emails and settings.prevent_login_with_unverified_email and write.email_changed):
            token, _ = await session_insert(
                conn, caller=caller, user_id=object_id, created_with=_created_with(write),
                session_length_seconds=settings.session_length_seconds,
            )  # fmt: skip
    await email_flows.mail_send(mail)
    if token is None:
        return {}
    if write.body.get("authData"):
        # An authData sign-up answers the username it was given (reference §10.2).
        return {"username": write.body["username"], "sessionToken": token}
    return {"sessionToken": token}


async def user_after_update(*, caller: Caller, object_id: str, write: UserWrite) -> dict[str, Any]:
    """A new password revokes every session of the user (Parse's revokeSessionOnPasswordReset) and,
    for the user themself, opens a fresh one whose token the response carries."""
    from hangar.identity import email_flows
    from hangar.identity.sessions import session_insert, sessions_delete_for_user

    extra: dict[str, Any] = {}
    if write.mfa_change is not None:
        if write.mfa_change.response is not None:
            # Shown this once (recovery codes); only their digests are kept.
            extra["authDataResponse"] = {mfa.PROVIDER: write.mfa_change.response}
        if write.mfa_change.sms is not None:
            await mfa.sms_code_send(caller=caller, user_id=object_id, code=write.mfa_change.sms)
    if not write.password_changed and not write.email_changed:
        return extra
    mail: email_flows.Mail | None = None
    async with app_transaction(caller.app_pk) as conn:
        settings = await auth_settings_read(conn, caller.app_pk)
        if write.email_changed:
            mail = await email_flows.verification_start(conn, caller=caller, user_id=object_id, settings=settings)
        if write.password_changed and settings.revoke_session_on_password_reset:
            # Revoked in every process once committed (the _Session rules' ``changed``).
            await sessions_delete_for_user(conn, caller=caller, user_id=object_id)
            if not caller.is_master:
                token, _ = await session_insert(
                    conn, caller=caller, user_id=object_id, created_with={"action": "update"},
                    session_length_seconds=settings.session_length_seconds,
                )  # fmt: skip
                extra["sessionToken"] = token
    await email_flows.mail_send(mail)
    return extra


async def user_after_delete(*, caller: Caller, object_id: str) -> None:
    """A deleted user's sessions go with it, at once in every process (the _Session rules' ``changed``)."""
    from hangar.identity.sessions import sessions_delete_for_user

    async with app_transaction(caller.app_pk) as conn:
        await sessions_delete_for_user(conn, caller=caller, user_id=object_id)
