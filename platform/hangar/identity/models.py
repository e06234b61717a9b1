"""Per-app settings of end-user authentication (Parse Server's user-related server options).

The data plane reads the row with SQL under row-level security (migration 0001); an app
without a row uses the defaults below, which are Parse Server 7's.
"""

from __future__ import annotations

from django.db import models

from hangar.identity.auth_settings import ONE_YEAR


class AuthSettings(models.Model):
    """Sessions, password policy, lockout, email flows and OAuth client ids of one app."""

    app = models.OneToOneField("tenants.App", on_delete=models.CASCADE, primary_key=True, related_name="auth_settings")
    session_length_seconds = models.PositiveIntegerField(default=ONE_YEAR)
    revoke_session_on_password_reset = models.BooleanField(default=True)
    allow_anonymous_users = models.BooleanField(default=True)
    password_min_length = models.PositiveIntegerField(default=0)
    password_pattern = models.CharField(max_length=500, blank=True, default="")
    password_disallow_username = models.BooleanField(default=False)
    password_history = models.PositiveIntegerField(default=0)
    lockout_threshold = models.PositiveIntegerField(default=0, help_text="Failed logins before lockout; 0 = off.")
    lockout_minutes = models.PositiveIntegerField(default=5)
    verify_user_emails = models.BooleanField(default=False)
    prevent_login_with_unverified_email = models.BooleanField(default=False)
    email_verify_token_minutes = models.PositiveIntegerField(default=24 * 60)
    email_verify_token_reuse_if_valid = models.BooleanField(
        default=False, help_text="A new verification request mails the still-valid link again instead of a new one."
    )
    reset_token_minutes = models.PositiveIntegerField(default=60)
    # {"google": {"client_ids": [...]}, "apple": {...}, "oidc": {"issuer": ..., "jwks_uri": ..., "client_ids": [...]}}
    oauth_providers = models.JSONField(default=dict, blank=True)
    # Parse Server's ``auth.mfa`` options: [] (off), "TOTP" and/or "SMS"; the code's digits,
    # period (seconds) and HMAC algorithm (hangar.identity.mfa).
    mfa_options = models.JSONField(default=list, blank=True)
    mfa_digits = models.PositiveIntegerField(default=6)
    mfa_period = models.PositiveIntegerField(default=30)
    mfa_algorithm = models.CharField(max_length=8, default="SHA1")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"auth settings of app {self.app_id}"
