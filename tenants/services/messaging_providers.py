"""An app's messaging providers from the management API and the dashboard: who may, and the audit trail.

The credentials themselves are checked, encrypted and stored by ``hangar.messaging``; this
layer resolves the app inside the organization, checks the role and records what was done
(the kind and the displayable summary, never a secret).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from hangar.messaging.credentials import KINDS, CredentialConfigError
from hangar.messaging.models import LoggedMessage
from hangar.messaging.provider_credentials import (
    ProviderCredentialRow,
    logged_message_list,
    provider_credential_delete,
    provider_credential_list,
    provider_credential_set,
)
from tenants.audit import audit_record
from tenants.errors import NotFoundError, ValidationFailedError
from tenants.models import App, Developer, Organization
from tenants.roles import Permission
from tenants.services.access import membership_require


def _app_for(actor: Developer, organization: Organization, app_pk: int | str, permission: Permission) -> App:
    membership_require(actor=actor, organization=organization, permission=permission)
    try:
        pk = int(app_pk)
    except (TypeError, ValueError):
        raise NotFoundError("App not found.") from None
    app = organization.apps.filter(pk=pk, status=App.Status.ACTIVE).first()
    if app is None:
        raise NotFoundError("App not found.")
    return app


def _known_kind(kind: str) -> str:
    if kind not in KINDS:
        raise NotFoundError(f"No provider kind {kind!r}; one of {', '.join(KINDS)}.")
    return kind


def messaging_provider_list(
    *, actor: Developer, organization: Organization, app_pk: int | str
) -> list[ProviderCredentialRow]:
    """Every provider kind, configured or not, with what may be shown (any member)."""
    app = _app_for(actor, organization, app_pk, Permission.VIEW_ORG)
    return provider_credential_list(app=app)


def messaging_provider_get(
    *, actor: Developer, organization: Organization, app_pk: int | str, kind: str
) -> ProviderCredentialRow:
    _known_kind(kind)
    rows = messaging_provider_list(actor=actor, organization=organization, app_pk=app_pk)
    return next(row for row in rows if row.kind == kind)


def messaging_provider_set(
    *, actor: Developer, organization: Organization, app_pk: int | str, kind: str, config: Any
) -> ProviderCredentialRow:
    """Store (or replace) an app's credentials for one provider (admin); a bad config is a 400, nothing stored."""
    _known_kind(kind)
    with transaction.atomic():
        app = _app_for(actor, organization, app_pk, Permission.MANAGE_MESSAGING_PROVIDERS)
        try:
            credential = provider_credential_set(app=app, kind=kind, raw=config, actor=actor)
        except CredentialConfigError as exc:
            raise ValidationFailedError(str(exc), field=exc.field) from exc
        audit_record(
            actor=actor, organization=organization, action="messaging.provider_set", target_type="app",
            target_id=app.application_id, target_name=app.name, details={"kind": kind, "summary": credential.summary},
        )  # fmt: skip
    return next(row for row in provider_credential_list(app=app) if row.kind == kind)


def messaging_provider_delete(*, actor: Developer, organization: Organization, app_pk: int | str, kind: str) -> None:
    _known_kind(kind)
    with transaction.atomic():
        app = _app_for(actor, organization, app_pk, Permission.MANAGE_MESSAGING_PROVIDERS)
        if not provider_credential_delete(app=app, kind=kind):
            raise NotFoundError(f"The app has no {kind} credentials.")
        audit_record(
            actor=actor, organization=organization, action="messaging.provider_delete", target_type="app",
            target_id=app.application_id, target_name=app.name, details={"kind": kind},
        )  # fmt: skip


def messaging_log_list(
    *, actor: Developer, organization: Organization, app_pk: int | str, limit: int = 100, channel: str | None = None
) -> list[LoggedMessage]:
    """What the log provider recorded for the app, newest first (developer: it holds end users' addresses)."""
    app = _app_for(actor, organization, app_pk, Permission.VIEW_MESSAGING_LOG)
    return logged_message_list(app=app, limit=limit, channel=channel)
