"""End-user services of the Parse protocol (reference §10.1-§10.6): sign-up, login, logout,
the current user, ``authData`` login, sessions, password checks and the email flows.

Writes to ``_User`` go through the generic write path (hangar.datastore.objects), which
applies hangar.identity.user_rules; these services add what only the ``/users``,
``/login`` and ``/sessions`` routes do.
"""

from __future__ import annotations

from typing import Any

from psycopg.types.json import Jsonb

from hangar.caller import Caller
from hangar.datastore import objects, queries
from hangar.datastore.connection import after_commit, app_transaction
from hangar.datastore.hooks import hooks
from hangar.datastore.names import is_valid_field_name
from hangar.datastore.system_writes import system_object_update
from hangar.datastore.wire import row_to_wire
from hangar.db_pool import DataPlaneConnection
from hangar.identity import auth_data_rules, email_flows, mfa, oauth
from hangar.identity.auth_settings import AuthSettingsRecord, auth_settings_get, auth_settings_read
from hangar.identity.lockout import account_mail_rate_check, mfa_rate_check, mfa_sms_rate_check
from hangar.identity.password_login import bad_login, password_proof_confirm, password_prove
from hangar.identity.passwords import password_hash
from hangar.identity.sessions import (
    session_insert,
    session_token_hash,
    sessions_delete_for_user,
)
from hangar.identity.user_lookup import UserRow, user_by_id, user_by_login, user_id_by_auth
from hangar.parse_errors import (
    ACCOUNT_ALREADY_LINKED,
    EMAIL_MISSING,
    INVALID_EMAIL_ADDRESS,
    INVALID_SESSION_TOKEN,
    INVALID_VALUE,
    OBJECT_NOT_FOUND,
    OPERATION_FORBIDDEN,
    OTHER_CAUSE,
    SCRIPT_FAILED,
    ParseError,
)


def _without_auth_data(user: dict[str, Any]) -> dict[str, Any]:
    """What a login trigger is shown: no credentials, as for a beforeSave on _User."""
    return {key: value for key, value in user.items() if key != "authData"}


def _user_wire(row: UserRow, files_base: str) -> dict[str, Any]:
    """The user as the user themself sees it: every field but the internal ones (email, authData too)."""
    return row_to_wire(
        None, object_id=row.object_id, data=row.data, created_at=row.created_at, updated_at=row.updated_at,
        files_base=files_base,
    )  # fmt: skip


async def _open_session(
    conn: DataPlaneConnection, caller: Caller, user_id: str, settings: AuthSettingsRecord, created_with: dict[str, str]
) -> str:
    if caller.installation_id:
        # One session per user and installation: a new login replaces the old one (reference §10.3).
        await sessions_delete_for_user(conn, caller=caller, user_id=user_id, installation_id=caller.installation_id)
    token, _ = await session_insert(
        conn, caller=caller, user_id=user_id, created_with=created_with,
        session_length_seconds=settings.session_length_seconds,
    )  # fmt: skip
    return token


async def _mfa_login_precheck(
    caller: Caller, user: UserRow, settings: AuthSettingsRecord, given: dict[str, Any] | None
) -> None:
    """For a user with a second factor: -1 without ``authData.mfa``, the rate limit, and a texted code
    for ``{"token": "request"}`` (then 141 "Please enter the token", as Parse Server answers)."""
    if not mfa.mfa_enabled(user.data):
        return
    if given is None:
        raise mfa.missing_error()
    if not mfa.login_code_requested(user.data, given):
        await mfa_rate_check(app_pk=caller.app_pk, user_id=user.object_id)
        return
    await mfa_sms_rate_check(app_pk=caller.app_pk, user_id=user.object_id)
    code, stored = mfa.login_sms_code(user.data, settings)
    async with app_transaction(caller.app_pk) as conn:
        await mfa.internal_fields_store(conn, caller, user.object_id, stored)
    await mfa.sms_code_send(caller=caller, user_id=user.object_id, code=code)
    raise ParseError(SCRIPT_FAILED, "Please enter the token")


async def _mfa_login_spend(
    conn: DataPlaneConnection, caller: Caller, user: UserRow, given: dict[str, Any] | None
) -> None:
    """Spend the login's code on the locked user (single use), or refuse the login."""
    if mfa.mfa_enabled(user.data):
        await mfa.internal_fields_store(conn, caller, user.object_id, mfa.login_code_spent(user.data, given))


async def user_log_in(*, caller: Caller, params: dict[str, Any], client_ip: str, files_base: str) -> dict[str, Any]:
    """``POST``/``GET /login``: the user and a new session token (with ``authData.mfa`` when the user has MFA)."""
    proof = await password_prove(caller=caller, params=params, client_ip=client_ip)
    given = mfa.login_mfa_data(params.get("authData"))
    await _mfa_login_precheck(caller, proof.user, proof.settings, given)
    async with app_transaction(caller.app_pk) as conn:
        user = await password_proof_confirm(conn, caller, proof, files_base)
        await _mfa_login_spend(conn, caller, user, given)
        shown = _user_wire(user, files_base)
        # Parse's beforeLogin: the password is proven, no session exists yet; a raise refuses the login.
        await hooks().before_login(caller=caller, user=_without_auth_data(shown))
        token = await _open_session(
            conn, caller, user.object_id, proof.settings, {"action": "login", "authProvider": "password"}
        )
    await after_commit(lambda: hooks().after_login(caller=caller, user=_without_auth_data(shown)))
    return {**shown, "sessionToken": token}


async def user_verify_password(
    *, caller: Caller, params: dict[str, Any], client_ip: str, files_base: str
) -> dict[str, Any]:
    """``/verifyPassword``: the user, without opening a session; the same rate limits and lockout as a login."""
    proof = await password_prove(caller=caller, params=params, client_ip=client_ip)
    async with app_transaction(caller.app_pk) as conn:
        user = await password_proof_confirm(conn, caller, proof, files_base)
    return _user_wire(user, files_base)


async def user_log_in_as(*, caller: Caller, params: dict[str, Any], files_base: str) -> dict[str, Any]:
    """``POST /loginAs`` (master): a session for any user, without password or lockout."""
    if not caller.is_master:
        raise ParseError(OPERATION_FORBIDDEN, "master key is required")
    user_id = params.get("userId")
    if not isinstance(user_id, str) or not user_id:
        raise ParseError(INVALID_VALUE, "userId must not be empty, null, or undefined")
    async with app_transaction(caller.app_pk) as conn:
        settings = await auth_settings_read(conn, caller.app_pk)
        user = await user_by_id(conn, caller.app_pk, user_id)
        if user is None:
            raise ParseError(OBJECT_NOT_FOUND, "user not found")
        token = await _open_session(conn, caller, user_id, settings, {"action": "login", "authProvider": "masterkey"})
    return {**_user_wire(user, files_base), "sessionToken": token}


async def user_sign_up(*, caller: Caller, body: dict[str, Any], files_base: str) -> tuple[dict[str, Any], str, int]:
    """``POST /users``: a new user (201), or with ``authData`` of a linked user, that user's login (200)."""
    rest, auth_data = auth_data_rules.auth_data_from_body(body)
    # The second factor is not a login method: it goes with another provider's login, never alone.
    mfa_given = mfa.login_mfa_data(auth_data) if auth_data and mfa.PROVIDER in auth_data else None
    if auth_data is not None:
        body = {**rest, "authData": auth_data}  # every spelling of authData logs in (or signs up) alike
    providers = {name: data for name, data in (auth_data or {}).items() if name != mfa.PROVIDER}
    if providers and "password" not in body:
        existing = await _user_for_auth_data(caller, providers)
        if existing is not None:
            return await _auth_data_log_in(caller, existing, providers, files_base, mfa_given), existing, 200
    response, object_id = await objects.object_create(
        caller=caller, class_name="_User", body=body, files_base=files_base
    )
    if auth_data:
        response["authDataResponse"] = {}
    return response, object_id, 201


async def _user_for_auth_data(caller: Caller, auth_data: auth_data_rules.AuthDataChanges) -> str | None:
    """The user every provider proves (each one validated first), ``None`` for none; 208 when they
    prove different users, as Parse Server answers."""
    settings = await auth_settings_get(caller.app_pk)
    for provider, data in auth_data.items():
        # The providers' servers are asked before any transaction opens: a slow provider must not pin a connection.
        await oauth.auth_data_validate(provider=provider, data=data, settings=settings)
    owners: set[str] = set()
    async with app_transaction(caller.app_pk) as conn:
        for provider, data in auth_data.items():
            assert data is not None  # validated: a dict with a string id
            user_id = await user_id_by_auth(conn, caller.app_pk, provider, data["id"])
            if user_id is not None:
                owners.add(user_id)
    if len(owners) > 1:
        raise ParseError(ACCOUNT_ALREADY_LINKED, "this auth is already used")
    return owners.pop() if owners else None


async def _auth_data_log_in(
    caller: Caller, user_id: str, auth_data: auth_data_rules.AuthDataChanges, files_base: str,
    mfa_given: dict[str, Any] | None = None,
) -> dict[str, Any]:  # fmt: skip
    async with app_transaction(caller.app_pk) as conn:
        settings = await auth_settings_read(conn, caller.app_pk)
        found = await user_by_id(conn, caller.app_pk, user_id)
    if found is None:
        raise bad_login()
    # A provider's login of a user with a second factor needs the code too (Parse Server's "additional" policy).
    await _mfa_login_precheck(caller, found, settings, mfa_given)
    async with app_transaction(caller.app_pk) as conn:
        user = await user_by_id(conn, caller.app_pk, user_id, lock=True)
        if user is None:
            raise bad_login()
        if user.readers is not None and not user.readers and not caller.is_master:
            # An ACL of {} locks the user out of every login, not only the password one (reference §5.4).
            raise bad_login()
        await _mfa_login_spend(conn, caller, user, mfa_given)
        created_with = {"action": "login", "authProvider": ",".join(sorted(auth_data))}
        token = await _open_session(conn, caller, user_id, settings, created_with)
    return {**_user_wire(user, files_base), "sessionToken": token}


async def user_me(*, caller: Caller, session_token: str | None, files_base: str) -> dict[str, Any]:
    """``GET /users/me``: ignores the get CLP (reference §10.4)."""
    if not caller.user_id or not session_token:
        raise ParseError(INVALID_SESSION_TOKEN, "Invalid session token")
    async with app_transaction(caller.app_pk) as conn:
        user = await user_by_id(conn, caller.app_pk, caller.user_id)
    if user is None:
        raise ParseError(INVALID_SESSION_TOKEN, "Invalid session token")
    return {**_user_wire(user, files_base), "__type": "Object", "className": "_User", "sessionToken": session_token}


async def user_log_out(*, caller: Caller, session_token: str | None) -> None:
    """``POST /logout``: delete this token's session; revoked at once in every process."""
    if not session_token or not caller.user_id:
        return
    from hangar.identity.sessions import session_delete_by_token

    await session_delete_by_token(caller=caller, token=session_token)


# Sessions (reference §10.6) -------------------------------------------------------------


def _session_wire_with_token(
    obj: dict[str, Any], caller: Caller, session_token: str | None, digest: str | None
) -> dict[str, Any]:
    if session_token and digest == session_token_hash(session_token):
        obj["sessionToken"] = session_token
    return obj


async def session_me(*, caller: Caller, session_token: str | None, files_base: str) -> dict[str, Any]:
    if not session_token:
        raise ParseError(INVALID_SESSION_TOKEN, "Session token required.")
    async with app_transaction(caller.app_pk) as conn:
        cursor = await conn.execute(
            "SELECT object_id, data, created_at, updated_at FROM datastore_object WHERE app_id = %s "
            "AND class_name = '_Session' AND data->>'_session_token_hash' = %s",
            [caller.app_pk, session_token_hash(session_token)],
        )
        row = await cursor.fetchone()
    if row is None:
        raise ParseError(INVALID_SESSION_TOKEN, "Session token not found.")
    object_id, data, created_at, updated_at = row
    obj = row_to_wire(
        None, object_id=object_id, data=data, created_at=created_at, updated_at=updated_at, files_base=files_base
    )
    obj["sessionToken"] = session_token
    return obj


async def session_find(*, caller: Caller, params: dict[str, Any], files_base: str) -> dict[str, Any]:
    """``GET /sessions``: the caller's own sessions (their ACL holds only the owner), all for master."""
    if not caller.is_master and not caller.user_id:
        raise ParseError(INVALID_SESSION_TOKEN, "Invalid session token")
    return await queries.object_find(caller=caller, class_name="_Session", params=params, files_base=files_base)


# Fields of a new session the server sets whatever the body says (Parse Server ignores them too).
_SESSION_SET_BY_SERVER = frozenset(
    {"user", "sessionToken", "expiresAt", "createdWith", "installationId", "createdAt", "updatedAt"}
)


async def session_create(*, caller: Caller, body: dict[str, Any], files_base: str) -> dict[str, Any]:
    """``POST /sessions``: another session for the calling user, with custom fields."""
    if not caller.user_id:
        raise ParseError(INVALID_SESSION_TOKEN, "Session token required.")
    from hangar.parse_errors import INVALID_KEY_NAME

    if "ACL" in body:
        raise ParseError(INVALID_KEY_NAME, "Cannot set ACL on a Session.")
    extra = {k: v for k, v in body.items() if k not in _SESSION_SET_BY_SERVER}
    for name in extra:
        # Custom fields only: an internal (``_``-prefixed) key would be stored unseen, an ``objectId`` would
        # shadow the real one on every read.
        if name in {"objectId", "id"} or not is_valid_field_name(name):
            raise ParseError(INVALID_KEY_NAME, f"Invalid field name: {name}.")
    async with app_transaction(caller.app_pk) as conn:
        settings = await auth_settings_read(conn, caller.app_pk)
        _, wire = await session_insert(
            conn, caller=caller, user_id=caller.user_id, created_with={"action": "create"},
            session_length_seconds=settings.session_length_seconds, extra=extra,
        )  # fmt: skip
    return wire


async def session_upgrade(*, caller: Caller, session_token: str | None) -> dict[str, Any]:
    """``/upgradeToRevocableSession``: Hangar only issues revocable tokens, so answer the current session."""
    if not caller.user_id:
        raise ParseError(OBJECT_NOT_FOUND, "invalid session")
    result = await session_me(caller=caller, session_token=session_token, files_base="")
    return {
        k: result[k]
        for k in ("sessionToken", "user", "createdWith", "expiresAt", "installationId", "objectId")
        if k in result
    }


# Email flows (reference §10.5) ----------------------------------------------------------


def _email_param(body: dict[str, Any]) -> str:
    email = body.get("email")
    if email is None or email == "":
        raise ParseError(EMAIL_MISSING, "you must provide an email")
    if not isinstance(email, str):
        raise ParseError(INVALID_EMAIL_ADDRESS, "you must provide a valid email string")
    return email


async def _account_mail_rate_check(caller: Caller, email: str) -> None:
    if not caller.is_master:  # the app's own server may mail its users as it sees fit
        await account_mail_rate_check(app_pk=caller.app_pk, client_ip=caller.client_ip or "", email=email)


async def password_reset_request(*, caller: Caller, body: dict[str, Any]) -> None:
    """``POST /requestPasswordReset``: mail a reset link; ``{}`` also for an unknown email (no account probing)."""
    email = _email_param(body)
    await _account_mail_rate_check(caller, email)
    mail = None
    async with app_transaction(caller.app_pk) as conn:
        settings = await auth_settings_read(conn, caller.app_pk)
        user = await user_by_login(conn, caller.app_pk, username=None, email=email)
        if user is not None:
            mail = await email_flows.reset_start(conn, caller=caller, user_id=user.object_id, settings=settings)
    await email_flows.mail_send(mail)


async def verification_email_request(*, caller: Caller, body: dict[str, Any]) -> None:
    """``POST /verificationEmailRequest``: mail a verification link to an unverified user of an app that verifies
    emails; ``{}`` whatever the email, so the answer does not tell which emails have an account (Parse Server's
    ``emailVerifySuccessOnInvalidEmail``)."""
    email = _email_param(body)
    await _account_mail_rate_check(caller, email)
    mail = None
    async with app_transaction(caller.app_pk) as conn:
        settings = await auth_settings_read(conn, caller.app_pk)
        user = await user_by_login(conn, caller.app_pk, username=None, email=email)
        if settings.verify_user_emails and user is not None and not user.data.get("emailVerified"):
            mail = await email_flows.verification_start(
                conn, caller=caller, user_id=user.object_id, settings=settings, reuse_from=user.data
            )
    await email_flows.mail_send(mail)


async def _reset_token_user(app_pk: int, token: str) -> tuple[AuthSettingsRecord, UserRow]:
    async with app_transaction(app_pk) as conn:
        settings = await auth_settings_read(conn, app_pk)
        cursor = await conn.execute(
            "SELECT object_id FROM datastore_object WHERE app_id = %s AND class_name = '_User' "
            "AND data->>'_perishable_token_hash' = %s",
            [app_pk, email_flows.token_digest(token)],
        )
        found = await cursor.fetchone()
        user = await user_by_id(conn, app_pk, found[0]) if found else None
    if user is None or not email_flows.token_matches(user.data, email_flows.RESET, token):
        raise ParseError(OTHER_CAUSE, "Failed to reset password: the link is invalid or has expired.")
    return settings, user


def _mailed_link_caller(app_pk: int) -> Caller:
    """Who writes when a mailed link is followed: the app itself (Parse Server's maintenance key), on the
    authority of the token the link carries. Which classes have listeners is not known there: publish."""
    return Caller(app_pk=app_pk, is_master=True)


async def password_reset_complete(*, app_pk: int, token: str, new_password: str) -> str:
    """Set a new password with a reset token (single use); revokes every session. Returns the username.

    The new password is hashed between two transactions; the write then consumes the token only if it is
    still the user's, so two uses of one link cannot both succeed.
    """
    from hangar.identity.user_rules import _check_password_value  # the one password policy

    settings, user = await _reset_token_user(app_pk, token)
    _check_password_value(new_password, settings, user.username)
    changes = {"_hashed_password": await password_hash(new_password), "_failed_login_count": 0}
    caller = _mailed_link_caller(app_pk)
    async with app_transaction(app_pk) as conn:
        updated = await system_object_update(
            conn, caller=caller, class_name="_User", object_id=user.object_id,
            # A password set by reset is an upgrade too: the anonymous id stops opening the account.
            data_sql="((data - '_perishable_token_hash' - '_perishable_token_expires_at' "
            "- '_account_lockout_expires_at') #- '{authData,anonymous}') || %s",
            data_params=[Jsonb(changes)],
            condition=" AND data->>'_perishable_token_hash' = %s", condition_params=[email_flows.token_digest(token)],
        )  # fmt: skip
        if updated is None:
            raise ParseError(OTHER_CAUSE, "Failed to reset password: the link is invalid or has expired.")
        if settings.revoke_session_on_password_reset:
            # Revoked in every process once committed (the _Session rules' ``changed``).
            await sessions_delete_for_user(conn, caller=caller, user_id=user.object_id)
    return user.username or ""


async def email_verify_complete(*, app_pk: int, token: str) -> bool:
    """Mark the email verified with a verification token (single use)."""
    caller = _mailed_link_caller(app_pk)
    async with app_transaction(app_pk) as conn:
        cursor = await conn.execute(
            "SELECT object_id FROM datastore_object WHERE app_id = %s AND class_name = '_User' "
            "AND data->>'_email_verify_token_hash' = %s FOR UPDATE",
            [app_pk, email_flows.token_digest(token)],
        )
        found = await cursor.fetchone()
        user = await user_by_id(conn, app_pk, found[0]) if found else None
        if user is None or not email_flows.token_matches(user.data, email_flows.VERIFY, token):
            return False
        await system_object_update(
            conn, caller=caller, class_name="_User", object_id=user.object_id,
            data_sql="(data - '_email_verify_token_hash' - '_email_verify_token_expires_at' "
            "- '_email_verify_token_nonce') || %s",
            data_params=[Jsonb({"emailVerified": True})],
        )  # fmt: skip
    return True
