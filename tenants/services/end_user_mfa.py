"""An app's multi-factor sign-in for its end users (Parse Server's ``auth.mfa`` options), from the control plane.

The setting lives in the app's auth settings (hangar.identity.models.AuthSettings), which the
data plane reads on every login; this layer checks the developer's role, validates the options
as Parse Server does (src/Adapters/Auth/mfa.js ``validateOptions``) and records the audit event.
"""

from __future__ import annotations

from dataclasses import dataclass

from hangar.identity.models import AuthSettings
from tenants.audit import audit_record
from tenants.errors import NotFoundError, ValidationFailedError
from tenants.models import App, Developer, Organization
from tenants.roles import Permission
from tenants.services.access import membership_require

OPTIONS = ("TOTP", "SMS")
ALGORITHMS = ("SHA1", "SHA256", "SHA512")


@dataclass(frozen=True)
class MfaSettings:
    options: list[str]
    digits: int
    period: int
    algorithm: str


def _app_for(actor: Developer, organization: Organization, app_pk: int, permission: Permission) -> App:
    membership_require(actor=actor, organization=organization, permission=permission)
    app = organization.apps.filter(pk=app_pk, status=App.Status.ACTIVE).first()
    if app is None:
        raise NotFoundError("App not found.")
    return app


def _of(row: AuthSettings | None) -> MfaSettings:
    if row is None:
        return MfaSettings(options=[], digits=6, period=30, algorithm="SHA1")
    return MfaSettings(
        options=list(row.mfa_options or []), digits=row.mfa_digits, period=row.mfa_period, algorithm=row.mfa_algorithm
    )


def end_user_mfa_get(*, actor: Developer, organization: Organization, app_pk: int) -> MfaSettings:
    app = _app_for(actor, organization, app_pk, Permission.VIEW_ORG)
    return _of(AuthSettings.objects.filter(app=app).first())


def end_user_mfa_set(
    *, actor: Developer, organization: Organization, app_pk: int, settings: MfaSettings
) -> MfaSettings:
    """Turn MFA on (``options`` ⊆ TOTP, SMS) or off (``[]``); digits 4 to 10, period at least 10 s, as Parse Server."""
    app = _app_for(actor, organization, app_pk, Permission.MANAGE_END_USER_MFA)
    requested = [option.upper() for option in settings.options]
    if any(option not in OPTIONS for option in requested):
        raise ValidationFailedError("options are TOTP and/or SMS", field="options")
    options = [option for option in OPTIONS if option in requested]
    if not 4 <= settings.digits <= 10:
        raise ValidationFailedError("digits must be between 4 and 10", field="digits")
    if settings.period < 10:
        raise ValidationFailedError("period must be at least 10 seconds", field="period")
    if settings.algorithm.upper() not in ALGORITHMS:
        raise ValidationFailedError("algorithm is SHA1, SHA256 or SHA512", field="algorithm")
    row, _ = AuthSettings.objects.update_or_create(
        app=app,
        defaults={"mfa_options": options, "mfa_digits": settings.digits, "mfa_period": settings.period,
                  "mfa_algorithm": settings.algorithm.upper()},
    )  # fmt: skip
    audit_record(
        actor=actor, organization=organization, action="app.end_user_mfa", target_type="app",
        target_id=app.application_id, target_name=app.name, details={"options": options},
    )  # fmt: skip
    return _of(row)
