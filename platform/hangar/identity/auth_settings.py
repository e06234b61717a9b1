"""An app's auth settings as the data plane reads them (model: hangar.identity.models.AuthSettings)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from hangar.datastore.connection import app_transaction

ONE_YEAR = 365 * 24 * 3600


@dataclass(frozen=True)
class AuthSettingsRecord:
    session_length_seconds: int = ONE_YEAR
    revoke_session_on_password_reset: bool = True
    allow_anonymous_users: bool = True
    password_min_length: int = 0
    password_pattern: str = ""
    password_disallow_username: bool = False
    password_history: int = 0
    lockout_threshold: int = 0
    lockout_minutes: int = 5
    verify_user_emails: bool = False
    prevent_login_with_unverified_email: bool = False
    email_verify_token_minutes: int = 24 * 60
    email_verify_token_reuse_if_valid: bool = False
    reset_token_minutes: int = 60
    oauth_providers: dict[str, Any] = field(default_factory=dict)
    mfa_options: list[str] = field(default_factory=list)
    mfa_digits: int = 6
    mfa_period: int = 30
    mfa_algorithm: str = "SHA1"


_COLUMNS = [f.name for f in fields(AuthSettingsRecord)]
_SQL = f"SELECT {', '.join(_COLUMNS)} FROM identity_authsettings WHERE app_id = %s"


async def auth_settings_read(conn: AsyncConnection, app_pk: int) -> AuthSettingsRecord:
    async with conn.cursor(row_factory=dict_row) as cursor:
        await cursor.execute(_SQL, [app_pk])
        row = await cursor.fetchone()
    return AuthSettingsRecord(**row) if row else AuthSettingsRecord()


async def auth_settings_get(app_pk: int) -> AuthSettingsRecord:
    """The app's settings (defaults when it has no row); one indexed read, not cached: only
    sign-up, login and password changes need it."""
    async with app_transaction(app_pk) as conn:
        return await auth_settings_read(conn, app_pk)
