"""Multi-factor sign-in for end users: Parse Server's ``mfa`` auth adapter protocol (``authData.mfa``).

Parse Server's protocol (src/Adapters/Auth/mfa.js, docs/messaging.md "Multi-factor sign-in"):

- enrol a TOTP secret: ``PUT /users/<id>`` with ``authData.mfa = {secret, token}`` (the first code
  proves the authenticator holds the secret); the answer's ``authDataResponse.mfa.recovery``
  carries the recovery codes, shown this once. A change needs ``old``, a current code.
- enrol a phone: ``{mobile}`` texts a code; ``{mobile, token}`` confirms it.
- log in: ``/login`` with ``authData.mfa = {token}``; without it Parse's error -1 "Missing
  additional authData mfa"; ``{token: "request"}`` texts a code (141 "Please enter the token");
  a wrong code is 141 "Invalid MFA token".

What Hangar does beyond Parse Server: the secret, the recovery codes (hashed), the phone and
pending codes live in internal fields (``_mfa_*``) that no API returns, master key included;
``authData.mfa`` only ever holds ``{"status": "enabled"}``. Codes are single-use (a TOTP step at
most once, a recovery or SMS code consumed under the row lock) and every attempt counts
against per-user rate limits. Removing MFA (``{old, disable: true}``) needs a code too; only the
master key may unlink it with ``null`` (an operator's account recovery).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
from psycopg.types.json import Jsonb

from hangar.caller import Caller
from hangar.datastore.dates import date_json, parse_date
from hangar.datastore.system_writes import system_object_update
from hangar.db_pool import DataPlaneConnection
from hangar.identity.auth_settings import AuthSettingsRecord
from hangar.parse_errors import OTHER_CAUSE, SCRIPT_FAILED, UNSUPPORTED_SERVICE, ParseError
from hangar.secretbox import decrypt_secret, encrypt_secret

PROVIDER = "mfa"
ENABLED = {"status": "enabled"}
TOTP = "_mfa_totp"
MOBILE = "_mfa_mobile"
RECOVERY = "_mfa_recovery"
PENDING = "_mfa_pending"
SMS_CODE = "_mfa_sms_code"
INTERNAL_FIELDS = (TOTP, MOBILE, RECOVERY, PENDING, SMS_CODE)
RECOVERY_CODES = 2  # as Parse Server: two codes, answered once as "code1, code2"
# Parse Server lets an SMS code live for ``period`` seconds (30 by default); a text can take longer
# than that to arrive, so a code lives at least five minutes.
SMS_CODE_MIN_SECONDS = 300
_PHONE = re.compile(r"^\+[1-9][0-9]{6,14}$")
_DIGESTS = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}
_RECOVERY_ALPHABET = string.ascii_letters + string.digits


def missing_error() -> ParseError:
    return ParseError(OTHER_CAUSE, "Missing additional authData mfa")


def invalid_token() -> ParseError:
    return ParseError(SCRIPT_FAILED, "Invalid MFA token")


def _update_error(message: str) -> ParseError:
    return ParseError(OTHER_CAUSE, message)


def mfa_enabled(data: dict[str, Any]) -> bool:
    return bool(data.get(TOTP) or data.get(MOBILE))


def code_digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


@dataclass
class SmsCode:
    """A code to text once the transaction that stored its digest commits."""

    mobile: str
    code: str
    nonce: str = field(default_factory=lambda: secrets.token_hex(8))


@dataclass
class MfaChange:
    """What an ``authData.mfa`` update stores: the public ``authData.mfa`` (``keep`` leaves it alone),
    internal fields (None deletes one), the ``authDataResponse.mfa`` to answer, and a code to text."""

    auth_data: dict[str, Any] | None
    keep: bool = False
    internal: dict[str, Any] = field(default_factory=dict)
    # The internal fields spending the ``old`` code: written at once under the row lock
    # (``internal_fields_store``), so two concurrent changes cannot spend one code.
    spent: dict[str, Any] = field(default_factory=dict)
    response: dict[str, Any] | None = None
    sms: SmsCode | None = None


# Codes ---------------------------------------------------------------------------------


def _totp(config: dict[str, Any]) -> pyotp.TOTP:
    return pyotp.TOTP(
        decrypt_secret(config["secret"]), digits=int(config["digits"]), interval=int(config["period"]),
        digest=_DIGESTS[config["algorithm"]],
    )  # fmt: skip


def _totp_step(config: dict[str, Any], token: str, *, now: float | None = None) -> int | None:
    """The time step whose code ``token`` is (the previous, current or next one: clock drift), if any."""
    totp = _totp(config)
    current = int((now or time.time()) // int(config["period"]))
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), token):
            return step
    return None


def _random_digits(digits: int) -> str:
    return str(secrets.randbelow(10**digits)).zfill(digits)


def _sms_code(settings: AuthSettingsRecord, mobile: str) -> tuple[SmsCode, dict[str, Any]]:
    code = SmsCode(mobile=mobile, code=_random_digits(settings.mfa_digits))
    expires = datetime.now(UTC) + timedelta(seconds=max(settings.mfa_period, SMS_CODE_MIN_SECONDS))
    return code, {"digest": code_digest(code.code), "expires": date_json(expires)}


def _stored_code_matches(stored: Any, token: str) -> bool:
    if not isinstance(stored, dict) or not stored.get("digest") or not stored.get("expires"):
        return False
    if parse_date(stored["expires"]) <= datetime.now(UTC):
        return False
    return hmac.compare_digest(stored["digest"], code_digest(token))


def code_consume(data: dict[str, Any], token: Any) -> dict[str, Any] | None:
    """The internal fields that spend ``token`` (a TOTP code, a recovery code or a texted code), or None
    when it is none of them (or one already used)."""
    if not isinstance(token, str) or not token or len(token) > 64:
        return None
    totp = data.get(TOTP)
    if isinstance(totp, dict) and token.isdigit():
        step = _totp_step(totp, token)
        if step is not None and step > int(totp.get("last_step") or 0):
            return {TOTP: {**totp, "last_step": step}}
    if data.get(MOBILE) and _stored_code_matches(data.get(SMS_CODE), token):
        return {SMS_CODE: None}
    digest = code_digest(token)
    recovery = [code for code in data.get(RECOVERY) or [] if isinstance(code, str)]
    for stored in recovery:
        if hmac.compare_digest(stored, digest):
            return {RECOVERY: [code for code in recovery if code != stored]}
    return None


def _recovery_codes() -> tuple[str, list[str]]:
    codes = ["".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(30)) for _ in range(RECOVERY_CODES)]
    return ", ".join(codes), [code_digest(code) for code in codes]


# Enrolment and changes (a _User update) --------------------------------------------------


def _options(settings: AuthSettingsRecord) -> set[str]:
    return {str(option).upper() for option in settings.mfa_options or []}


def mfa_update(*, caller: Caller, data: Any, user_data: dict[str, Any], settings: AuthSettingsRecord) -> MfaChange:
    """What ``authData.mfa = data`` on this user does, or the Parse error that refuses it.

    ``user_data`` is the stored user (internal fields included), read under its row lock. Every code
    given counts against the per-user rate limit, which the caller checks first (user_rules._mfa_change).
    """
    enabled = mfa_enabled(user_data)
    if data is None:
        if not caller.is_master:
            raise _update_error('Removing MFA needs a code: send authData.mfa {"old": <code>, "disable": true}')
        return MfaChange(auth_data=None, internal=dict.fromkeys(INTERNAL_FIELDS))
    if not isinstance(data, dict):
        raise _update_error("Invalid MFA data")
    if set(data) == {"status"}:
        return MfaChange(auth_data=None, keep=True)  # the SDK sends back what it read: nothing changes
    options = _options(settings)
    if not options and not data.get("disable"):
        raise ParseError(UNSUPPORTED_SERVICE, "This authentication method is unsupported.")
    confirming_phone = "mobile" in data and "token" in data and "secret" not in data  # its code was texted after `old`
    spent: dict[str, Any] = {}
    if data.get("disable") or (enabled and not confirming_phone):
        spent = _old_code_spent(user_data, data.get("old"))
    if data.get("disable"):
        return MfaChange(auth_data=None, internal=dict.fromkeys(INTERNAL_FIELDS), spent=spent)
    if data.get("mobile") and "SMS" in options:
        change = _mobile_update(data, user_data, settings)
    elif "TOTP" in options and "secret" in data:
        change = _totp_enrol(data, settings)
    else:
        raise _update_error("Invalid MFA data")
    change.spent = spent
    return change


def _old_code_spent(user_data: dict[str, Any], old: Any) -> dict[str, Any]:
    if not mfa_enabled(user_data):
        raise _update_error("MFA is not enabled on this account")
    spent = code_consume(user_data, old)
    if spent is None:
        raise _update_error("Invalid MFA token")
    return spent


def _mobile_update(data: dict[str, Any], user_data: dict[str, Any], settings: AuthSettingsRecord) -> MfaChange:
    mobile = data["mobile"]
    if not isinstance(mobile, str) or not _PHONE.match(mobile):
        raise _update_error("Invalid mobile number.")
    if "token" not in data:
        code, stored = _sms_code(settings, mobile)
        return MfaChange(auth_data=None, keep=True, internal={PENDING: {**stored, "mobile": mobile}}, sms=code)
    pending = user_data.get(PENDING)
    if not isinstance(pending, dict) or pending.get("mobile") != mobile:
        raise _update_error("This number is not pending")
    if not isinstance(data["token"], str) or not _stored_code_matches(pending, data["token"]):
        raise _update_error("Invalid MFA token")
    shown, digests = _recovery_codes()
    return MfaChange(
        auth_data=dict(ENABLED), internal={MOBILE: mobile, PENDING: None, RECOVERY: digests},
        response={"recovery": shown},
    )  # fmt: skip


def _totp_enrol(data: dict[str, Any], settings: AuthSettingsRecord) -> MfaChange:
    secret, token = data.get("secret"), data.get("token")
    if not isinstance(secret, str) or not isinstance(token, str) or len(secret) < 20:
        raise _update_error("Invalid MFA data")
    try:
        pyotp.TOTP(secret).byte_secret()
    except ValueError as exc:  # binascii.Error: not base32
        raise _update_error("Invalid MFA data") from exc
    algorithm = settings.mfa_algorithm.upper() if settings.mfa_algorithm.upper() in _DIGESTS else "SHA1"
    config = {
        "secret": encrypt_secret(secret), "digits": settings.mfa_digits, "period": settings.mfa_period,
        "algorithm": algorithm, "last_step": 0,
    }  # fmt: skip
    step = _totp_step(config, token)
    if step is None:
        raise _update_error("Invalid MFA token")
    shown, digests = _recovery_codes()
    return MfaChange(
        auth_data=dict(ENABLED), internal={TOTP: {**config, "last_step": step}, RECOVERY: digests, PENDING: None},
        response={"recovery": shown},
    )  # fmt: skip


# Login ---------------------------------------------------------------------------------


def login_mfa_data(auth_data: Any) -> dict[str, Any] | None:
    """``authData.mfa`` of a login request (``None`` when absent)."""
    if isinstance(auth_data, str):
        import json

        try:
            auth_data = json.loads(auth_data)
        except ValueError:
            return None
    if not isinstance(auth_data, dict) or not isinstance(auth_data.get(PROVIDER), dict):
        return None
    return dict(auth_data[PROVIDER])


def login_code_requested(user_data: dict[str, Any], given: dict[str, Any] | None) -> bool:
    return given is not None and given.get("token") == "request" and bool(user_data.get(MOBILE))


def login_sms_code(user_data: dict[str, Any], settings: AuthSettingsRecord) -> tuple[SmsCode, dict[str, Any]]:
    code, stored = _sms_code(settings, user_data[MOBILE])
    return code, {SMS_CODE: stored}


def login_code_spent(user_data: dict[str, Any], given: dict[str, Any] | None) -> dict[str, Any]:
    """The internal fields spending the login's code; -1 "Missing additional authData mfa" without one,
    141 "Invalid MFA token" for a wrong or used one."""
    if given is None:
        raise missing_error()
    spent = code_consume(user_data, given.get("token"))
    if spent is None:
        raise invalid_token()
    return spent


async def sms_code_send(*, caller: Caller, user_id: str, code: SmsCode) -> None:
    """Text the code once the transaction that stored its digest has ended (hangar.identity.tasks)."""
    from asgiref.sync import sync_to_async

    from hangar.datastore.connection import after_commit
    from hangar.identity.tasks import mfa_code_send

    async def committed() -> None:
        await sync_to_async(mfa_code_send.delay)(
            app_pk=caller.app_pk, user_id=user_id, mobile=code.mobile, code=code.code, nonce=code.nonce
        )

    await after_commit(committed)


async def internal_fields_store(
    conn: DataPlaneConnection, caller: Caller, user_id: str, fields: dict[str, Any]
) -> None:
    """Set (or, for None, delete) internal fields of the user in the caller's transaction; updatedAt stays."""
    removed = [name for name, value in fields.items() if value is None]
    kept = {name: value for name, value in fields.items() if value is not None}
    await system_object_update(
        conn, caller=caller, class_name="_User", object_id=user_id, touch=False,
        data_sql="(data - %s::text[]) || %s", data_params=[removed, Jsonb(kept)],
    )  # fmt: skip
