"""Schema as code from the management API, its writes: push, roll back, promote.

The domain work is hangar.schema_history's; this layer checks the developer's role on
each app involved, maps the domain's errors and records audit events. The reads (the
schema file, a diff, the history) are tenants.selectors'.
"""

from __future__ import annotations

from typing import Any

from hangar.schema_history import services as history
from hangar.schema_history.document import document_render
from hangar.schema_history.models import SchemaMigration
from hangar.schema_history.selectors import schema_document_get
from tenants.audit import audit_record
from tenants.errors import SchemaBusyError, ValidationFailedError
from tenants.models import App, Developer, Organization
from tenants.roles import Permission
from tenants.selectors import app_permitted_get, promotion_source_get


def _app(actor: Developer, organization: Organization, app_pk: int, permission: Permission) -> App:
    return app_permitted_get(developer=actor, organization=organization, app_pk=app_pk, permission=permission)


def _audit(actor: Developer, app: App, action: str, details: dict[str, Any]) -> None:
    audit_record(
        actor=actor, organization=app.organization, action=action, target_type="app",
        target_id=app.application_id, target_name=app.name, details=details,
    )  # fmt: skip


def _pushed(
    actor: Developer, app: App, document: Any, *, allow_destructive: bool, message: str, **extra: Any
) -> history.Outcome:
    try:
        outcome = history.schema_push(
            app=app, raw=document, author=actor.email, allow_destructive=allow_destructive, message=message, **extra
        )
    except history.SchemaBusyError as exc:
        raise SchemaBusyError(str(exc)) from exc
    except history.SchemaChangeError as exc:
        if exc.migration is not None:
            _audit(actor, app, "schema.push", {"migration": exc.migration, "partial": True})
        raise ValidationFailedError(exc.message, field="schema") from exc
    if outcome.migration is not None:
        details = {"migration": outcome.migration.number, "operations": len(outcome.plan.operations), **extra}
        _audit(actor, app, "schema.push", details)
    return outcome


def schema_push(
    *, actor: Developer, organization: Organization, app_pk: int, document: Any,
    allow_destructive: bool, message: str = "",
) -> history.Outcome:  # fmt: skip
    """Apply the file as one recorded migration."""
    app = _app(actor, organization, app_pk, Permission.MANAGE_SCHEMA)
    return _pushed(actor, app, document, allow_destructive=allow_destructive, message=message)


def schema_promote(
    *, actor: Developer, organization: Organization, app_pk: int, source_app_id: str, allow_destructive: bool
) -> history.Outcome:
    """Make this app's schema the source app's (staging to production); the source may be in another organization
    the actor belongs to, and is found by its application id."""
    app = _app(actor, organization, app_pk, Permission.MANAGE_SCHEMA)
    source = promotion_source_get(developer=actor, source_app_id=source_app_id)
    document = document_render(schema_document_get(app=source))
    return _pushed(
        actor, app, document, allow_destructive=allow_destructive, message=f"promoted from {source.name}",
        source=SchemaMigration.Source.PROMOTION, promoted_from=source.application_id,
    )  # fmt: skip


def schema_rollback(
    *, actor: Developer, organization: Organization, app_pk: int, number: int | None
) -> SchemaMigration:
    app = _app(actor, organization, app_pk, Permission.MANAGE_SCHEMA)
    try:
        migration = history.schema_rollback(app=app, author=actor.email, number=number)
    except history.SchemaBusyError as exc:
        raise SchemaBusyError(str(exc)) from exc
    except history.SchemaChangeError as exc:
        raise ValidationFailedError(exc.message, field="number") from exc
    _audit(actor, app, "schema.rollback", {"migration": migration.number, "reverts": migration.reverts})
    return migration
