"""An app's policies the dashboard's Settings page edits: how end users sign in, what files it takes, its rate.

Each lives where its service already reads it (hangar.identity.models.AuthSettings,
hangar.files.models.FileSettings, tenants.models.App.rate_limit_rps); this layer checks
the developer's role, validates, writes, and records the audit event. How end users sign
in is the app's security posture, like its keys: an admin's decision (the same role as
end-user MFA). Files and the rate limit are app settings a developer may change.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from django.conf import settings
from django.db import transaction

from hangar.files.models import FileSettings
from hangar.identity.models import AuthSettings
from hangar.invalidation import publish_app_changed_on_commit
from tenants.audit import audit_record
from tenants.errors import NotFoundError, ValidationFailedError
from tenants.models import App, Developer, Organization
from tenants.roles import Permission
from tenants.services.access import membership_require

OAUTH_PROVIDERS = ("google", "apple", "facebook")
MAX_CLIENT_IDS = 20


@dataclass(frozen=True)
class AuthPolicy:
    verify_user_emails: bool = False
    prevent_login_with_unverified_email: bool = False
    allow_anonymous_users: bool = True
    password_min_length: int = 0
    password_pattern: str = ""
    password_disallow_username: bool = False
    lockout_threshold: int = 0
    lockout_minutes: int = 5
    session_length_days: int = 365
    oauth_client_ids: dict[str, list[str]] = field(default_factory=dict)  # provider -> client ids


@dataclass(frozen=True)
class FilePolicy:
    max_upload_bytes: int | None = None
    allowed_content_types: list[str] = field(default_factory=list)
    enable_for_public: bool = False
    enable_for_authenticated: bool = True
    url_mode: str = FileSettings.UrlMode.HANGAR


def _app_for(actor: Developer, organization: Organization, app_pk: int, permission: Permission) -> App:
    membership_require(actor=actor, organization=organization, permission=permission)
    app = organization.apps.filter(pk=app_pk, status=App.Status.ACTIVE).first()
    if app is None:
        raise NotFoundError("App not found.")
    return app


def _audit(actor: Developer, organization: Organization, app: App, action: str, details: dict[str, object]) -> None:
    audit_record(
        actor=actor, organization=organization, action=action, target_type="app",
        target_id=app.application_id, target_name=app.name, details=details,
    )  # fmt: skip


def auth_policy_get(*, app: App) -> AuthPolicy:
    row = AuthSettings.objects.filter(app=app).first()
    if row is None:
        return AuthPolicy()
    providers = row.oauth_providers or {}
    return AuthPolicy(
        verify_user_emails=row.verify_user_emails,
        prevent_login_with_unverified_email=row.prevent_login_with_unverified_email,
        allow_anonymous_users=row.allow_anonymous_users, password_min_length=row.password_min_length,
        password_pattern=row.password_pattern, password_disallow_username=row.password_disallow_username,
        lockout_threshold=row.lockout_threshold, lockout_minutes=row.lockout_minutes,
        session_length_days=max(1, row.session_length_seconds // 86400),
        oauth_client_ids={name: list(providers.get(name, {}).get("client_ids", [])) for name in OAUTH_PROVIDERS
                          if name in providers},
    )  # fmt: skip


def _check_auth(policy: AuthPolicy) -> None:
    if not 0 <= policy.password_min_length <= 128:
        raise ValidationFailedError("The minimum password length is 0 to 128.", field="password_min_length")
    try:
        re.compile(policy.password_pattern)
    except re.error as exc:
        raise ValidationFailedError(
            f"The password pattern is not a valid regex: {exc}", field="password_pattern"
        ) from exc
    if not 0 <= policy.lockout_threshold <= 1000 or not 1 <= policy.lockout_minutes <= 24 * 60:
        raise ValidationFailedError("Lockout: 0 to 1000 failed logins, for 1 to 1440 minutes.", field="lockout")
    if not 1 <= policy.session_length_days <= 3650:
        raise ValidationFailedError("Sessions last 1 to 3650 days.", field="session_length_days")
    for provider, ids in policy.oauth_client_ids.items():
        if provider not in OAUTH_PROVIDERS or len(ids) > MAX_CLIENT_IDS or any(len(i) > 255 for i in ids):
            raise ValidationFailedError(f"Up to {MAX_CLIENT_IDS} client ids per provider.", field="oauth")


def auth_policy_set(*, actor: Developer, organization: Organization, app_pk: int, policy: AuthPolicy) -> AuthPolicy:
    """Set how the app's end users sign up and sign in; read by the data plane on its next sign-in."""
    _check_auth(policy)
    with transaction.atomic():
        app = _app_for(actor, organization, app_pk, Permission.MANAGE_END_USER_MFA)
        row = AuthSettings.objects.select_for_update().filter(app=app).first() or AuthSettings(app=app)
        providers = dict(row.oauth_providers or {})
        for name in OAUTH_PROVIDERS:  # other providers' settings (OIDC issuers, ...) are left as they are
            ids = policy.oauth_client_ids.get(name, [])
            if ids:
                providers[name] = {**providers.get(name, {}), "client_ids": ids}
            else:
                providers.pop(name, None)
        values = asdict(policy)
        values.pop("oauth_client_ids")
        row.session_length_seconds = values.pop("session_length_days") * 86400
        for name, value in values.items():
            setattr(row, name, value)
        row.oauth_providers = providers
        row.save()
        _audit(actor, organization, app, "app.auth_policy", {**values, "oauth": sorted(policy.oauth_client_ids)})
    return auth_policy_get(app=app)


def file_policy_get(*, app: App) -> FilePolicy:
    row = FileSettings.objects.filter(app=app).first()
    if row is None:
        return FilePolicy()
    return FilePolicy(
        max_upload_bytes=row.max_upload_bytes, allowed_content_types=list(row.allowed_content_types or []),
        enable_for_public=row.enable_for_public, enable_for_authenticated=row.enable_for_authenticated,
        url_mode=row.url_mode,
    )  # fmt: skip


_CONTENT_TYPE = re.compile(r"^[a-z0-9][a-z0-9.+-]*/(\*|[a-z0-9][a-z0-9.+-]*)$")


def file_policy_set(*, actor: Developer, organization: Organization, app_pk: int, policy: FilePolicy) -> FilePolicy:
    if policy.url_mode not in FileSettings.UrlMode.values:
        raise ValidationFailedError("Files are served by Hangar, by public URL or by presigned URL.", field="url_mode")
    if policy.max_upload_bytes is not None and policy.max_upload_bytes < 1:
        raise ValidationFailedError("The largest file is at least 1 byte (or empty for the default).", field="max")
    bad = [kind for kind in policy.allowed_content_types if not _CONTENT_TYPE.match(kind)]
    if bad:
        raise ValidationFailedError(f"Not a content type: {bad[0]} (e.g. image/* or application/pdf).", field="types")
    with transaction.atomic():
        app = _app_for(actor, organization, app_pk, Permission.RENAME_APP)
        FileSettings.objects.update_or_create(app=app, defaults=asdict(policy))
        _audit(actor, organization, app, "app.file_policy", asdict(policy))
    return file_policy_get(app=app)


def rate_limit_set(
    *, actor: Developer, organization: Organization, app_pk: int, requests_per_second: int | None
) -> App:
    """Lower the app's requests per second below its plan's (None: the plan's); in force in every process at once."""
    with transaction.atomic():
        app = _app_for(actor, organization, app_pk, Permission.RENAME_APP)
        plan_rps = organization.plan.requests_per_second if organization.plan else settings.HANGAR_DEFAULT_PLAN_RPS
        if requests_per_second is not None:
            if requests_per_second < 1:
                raise ValidationFailedError("At least 1 request per second (or empty for the plan's).", field="rps")
            if plan_rps and requests_per_second > plan_rps:
                raise ValidationFailedError(f"The plan allows at most {plan_rps} requests per second.", field="rps")
        previous, app.rate_limit_rps = app.rate_limit_rps, requests_per_second
        app.save(update_fields=["rate_limit_rps"])
        _audit(actor, organization, app, "app.rate_limit", {"from": previous, "to": requests_per_second})
        publish_app_changed_on_commit(app.application_id)
    return app
