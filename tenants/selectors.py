"""Reads of the tenants domain; every read is scoped to what the developer may see."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from asgiref.sync import async_to_sync
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from hangar.cloudcode.logs import log_records
from hangar.cloudcode.models import CloudActivation, CloudVariable, CloudVersion
from hangar.schema_history.document import document_render
from hangar.schema_history.errors import SchemaChangeError
from hangar.schema_history.models import SchemaMigration
from hangar.schema_history.planning import Plan
from hangar.schema_history.selectors import schema_document_get, schema_migration_list, schema_plan
from hangar.secretbox import decrypt_secret, token_digest
from tenants.errors import NotFoundError, ValidationFailedError
from tenants.models import (
    App,
    AppKey,
    AuditEvent,
    Developer,
    Invitation,
    Membership,
    Organization,
    PersonalAccessToken,
)
from tenants.roles import Permission, Role, role_allows
from tenants.services.access import membership_require


def organization_list(*, developer: Developer) -> QuerySet[Organization]:
    return Organization.objects.filter(memberships__developer=developer).select_related("plan").order_by("name", "pk")


def organization_get(*, developer: Developer, organization_id: int | str) -> Organization:
    """The organization if the developer is a member; otherwise NotFoundError."""
    try:
        pk = int(organization_id)
    except (TypeError, ValueError) as exc:
        raise NotFoundError("Organization not found.") from exc
    organization = Organization.objects.filter(pk=pk, memberships__developer=developer).select_related("plan").first()
    if organization is None:
        raise NotFoundError("Organization not found.")
    return organization


def membership_role(*, developer: Developer, organization: Organization) -> Role:
    return Role(membership_require(actor=developer, organization=organization, permission=Permission.VIEW_ORG).role)


def app_list(*, developer: Developer, organization: Organization) -> QuerySet[App]:
    membership_require(actor=developer, organization=organization, permission=Permission.VIEW_ORG)
    return organization.apps.filter(status=App.Status.ACTIVE).order_by("name", "pk")


def app_get(*, developer: Developer, organization: Organization, app_pk: int | str) -> App:
    membership_require(actor=developer, organization=organization, permission=Permission.VIEW_ORG)
    try:
        pk = int(app_pk)
    except (TypeError, ValueError) as exc:
        raise NotFoundError("App not found.") from exc
    app = organization.apps.filter(pk=pk, status=App.Status.ACTIVE).first()
    if app is None:
        raise NotFoundError("App not found.")
    return app


def app_keys_for(*, developer: Developer, app: App, include_master: bool = False) -> dict[str, str | None]:
    """The app's keys in plain text; the master key only for admins who ask for it (else None)."""
    role = membership_role(developer=developer, organization=app.organization)
    may_see_master = role_allows(role, Permission.VIEW_MASTER_KEY)
    keys: dict[str, str | None] = {"application_id": app.application_id}
    for key in AppKey.objects.filter(app=app):
        if key.kind == AppKey.Kind.MASTER and not (include_master and may_see_master):
            keys[key.kind] = None
            continue
        keys[key.kind] = decrypt_secret(key.ciphertext)
    return keys


def membership_list(*, developer: Developer, organization: Organization) -> QuerySet[Membership]:
    membership_require(actor=developer, organization=organization, permission=Permission.VIEW_ORG)
    return organization.memberships.select_related("developer").order_by("developer__email")


def invitation_list(*, developer: Developer, organization: Organization) -> QuerySet[Invitation]:
    """Open invitations (not accepted, revoked or expired)."""
    membership_require(actor=developer, organization=organization, permission=Permission.VIEW_ORG)
    return organization.invitations.filter(
        accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).order_by("-created_at")


def audit_event_list(*, developer: Developer, organization: Organization) -> QuerySet[AuditEvent]:
    membership_require(actor=developer, organization=organization, permission=Permission.VIEW_AUDIT_LOG)
    return AuditEvent.objects.filter(organization=organization).order_by("-created_at", "-id")


def access_token_list(*, developer: Developer) -> QuerySet[PersonalAccessToken]:
    """The developer's own access tokens, newest first (expired ones included, so they can be cleaned up)."""
    return PersonalAccessToken.objects.filter(developer=developer).order_by("-created_at", "-pk")


# Views resolve the organization (or app) once, at the edge, and then make one call;
# these selectors give them the member's view in one read.


def _pk(value: int | str, what: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise NotFoundError(f"{what} not found.") from exc


@dataclass(frozen=True)
class OrganizationAccess:
    """An organization as one of its members sees it: the organization, the member's role and membership."""

    organization: Organization
    role: Role
    membership_id: int


@dataclass(frozen=True)
class AppAccess:
    """An active app as one member of its organization sees it."""

    organization: Organization
    role: Role
    app: App


@dataclass(frozen=True)
class OrganizationOverview:
    organization: Organization
    role: Role
    apps: list[App]


@dataclass(frozen=True)
class MemberRoster:
    memberships: list[Membership]
    invitations: list[Invitation]


def organization_access_get(*, developer: Developer, organization_id: int | str) -> OrganizationAccess:
    """The organization and the developer's role in it; NotFoundError for a non-member."""
    membership = (
        Membership.objects.select_related("organization__plan")
        .filter(developer=developer, organization_id=_pk(organization_id, "Organization"))
        .first()
    )
    if membership is None:
        raise NotFoundError("Organization not found.")
    return OrganizationAccess(
        organization=membership.organization, role=Role(membership.role), membership_id=membership.pk
    )


def app_access_get(*, developer: Developer, organization_id: int | str, app_pk: int | str) -> AppAccess:
    """An active app of an organization the developer belongs to; NotFoundError otherwise."""
    access = organization_access_get(developer=developer, organization_id=organization_id)
    app = access.organization.apps.filter(pk=_pk(app_pk, "App"), status=App.Status.ACTIVE).first()
    if app is None:
        raise NotFoundError("App not found.")
    return AppAccess(organization=access.organization, role=access.role, app=app)


def organization_overview_list(*, developer: Developer) -> list[OrganizationOverview]:
    """Every organization of the developer with their role and its active apps, by name."""
    active_apps = App.objects.filter(status=App.Status.ACTIVE).order_by("name", "pk")
    memberships = (
        Membership.objects.filter(developer=developer)
        .select_related("organization")
        .prefetch_related(Prefetch("organization__apps", queryset=active_apps, to_attr="active_apps"))
        .order_by("organization__name", "organization__pk")
    )
    return [
        OrganizationOverview(organization=m.organization, role=Role(m.role), apps=m.organization.active_apps)  # type: ignore[attr-defined]
        for m in memberships
    ]


def member_roster_get(*, developer: Developer, organization: Organization) -> MemberRoster:
    """The organization's members and its open invitations."""
    return MemberRoster(
        memberships=list(membership_list(developer=developer, organization=organization)),
        invitations=list(invitation_list(developer=developer, organization=organization).select_related("invited_by")),
    )


def invitation_get(*, token: str) -> Invitation:
    """The open invitation a token stands for (whoever holds the emailed link may see it)."""
    invitation = (
        Invitation.objects.select_related("organization", "invited_by").filter(digest=token_digest(token)).first()
    )
    if invitation is None or not invitation.is_open():
        raise NotFoundError("This invitation link is invalid, expired or already used.")
    return invitation


def app_keys_visible_to(
    *, developer: Developer, organization: Organization, keys: Mapping[str, str]
) -> dict[str, str | None]:
    """Plain keys (as app_create returns them) with the master key blanked unless the developer's role may see it."""
    role = membership_role(developer=developer, organization=organization)
    visible: dict[str, str | None] = dict(keys)
    if not role_allows(role, Permission.VIEW_MASTER_KEY):
        visible[AppKey.Kind.MASTER.value] = None
    return visible


# Cloud code of an app: versions, variables (secrets masked) and logs, for members who may view them.

SECRET_MASK = "••••••••"  # noqa: S105 - the placeholder shown instead of a secret


@dataclass(frozen=True)
class CloudVersionRow:
    number: int
    created_at: datetime
    created_by: str
    size: int
    sha256: str
    note: str
    handlers: dict[str, Any]
    active: bool


@dataclass(frozen=True)
class CloudVariableRow:
    name: str
    secret: bool
    value: str  # the plain value, or SECRET_MASK for a secret: a secret is never read back
    updated_at: datetime


def _cloud_app(developer: Developer, organization: Organization, app_pk: int | str) -> App:
    membership_require(actor=developer, organization=organization, permission=Permission.VIEW_CLOUD_CODE)
    app = organization.apps.filter(pk=_pk(app_pk, "App"), status=App.Status.ACTIVE).first()
    if app is None:
        raise NotFoundError("App not found.")
    return app


def cloud_version_list(*, developer: Developer, organization: Organization, app_pk: int | str) -> list[CloudVersionRow]:
    """The app's versions, newest first, with which one runs."""
    app = _cloud_app(developer, organization, app_pk)
    active = CloudActivation.objects.filter(app=app).values_list("version_id", flat=True).first()
    return [
        CloudVersionRow(
            number=v.number,
            created_at=v.created_at,
            created_by=v.created_by,
            size=v.size,
            sha256=v.sha256,
            note=v.note,
            handlers=v.handlers,
            active=v.pk == active,
        )
        for v in CloudVersion.objects.filter(app=app).defer("archive").order_by("-number")
    ]


def cloud_variable_list(
    *, developer: Developer, organization: Organization, app_pk: int | str
) -> list[CloudVariableRow]:
    app = _cloud_app(developer, organization, app_pk)
    return [
        CloudVariableRow(
            name=v.name,
            secret=v.is_secret,
            updated_at=v.updated_at,
            value=SECRET_MASK if v.is_secret else decrypt_secret(v.ciphertext),
        )
        for v in CloudVariable.objects.filter(app=app).order_by("name")
    ]


def cloud_log_list(
    *, developer: Developer, organization: Organization, app_pk: int | str, since: float | None = None,
    limit: int = 100, level: str | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """The newest invocation records first; with ``since`` (a record's ``at``), only those written after it."""
    app = _cloud_app(developer, organization, app_pk)
    records = async_to_sync(log_records)(app.pk, limit=CLOUD_LOG_SCAN, level=level)
    if since is not None:
        records = [record for record in records if float(record.get("at") or 0) > since]
    return records[:limit]


CLOUD_LOG_SCAN = 1000  # at most HANGAR_CLOUD_LOG_ENTRIES are kept anyway


@dataclass(frozen=True)
class CloudSettingsRow:
    function_timeout_seconds: float | None  # the app's own deadline; None: the platform default
    trigger_timeout_seconds: float | None
    function_timeout_default: float
    trigger_timeout_default: float
    function_timeout_max: float
    trigger_timeout_max: float
    webhook_key: str | None  # shown to those who may deploy (it is what the app's webhook endpoints check)


def cloud_settings_get(*, developer: Developer, organization: Organization, app_pk: int | str) -> CloudSettingsRow:
    """The app's handler deadlines within the platform's bounds, and the key its webhooks receive."""
    from django.conf import settings

    from hangar.cloudcode.models import CloudLimits
    from hangar.cloudcode.services import timeout_maximums
    from hangar.cloudcode.webhooks import webhook_key

    app = _cloud_app(developer, organization, app_pk)
    limits = CloudLimits.objects.filter(app=app).first()
    role = membership_require(actor=developer, organization=organization, permission=Permission.VIEW_CLOUD_CODE).role
    function_max, trigger_max = timeout_maximums(app)
    return CloudSettingsRow(
        function_timeout_seconds=limits.function_timeout_seconds if limits else None,
        trigger_timeout_seconds=limits.trigger_timeout_seconds if limits else None,
        function_timeout_default=settings.HANGAR_CLOUD_FUNCTION_TIMEOUT_SECONDS,
        trigger_timeout_default=settings.HANGAR_CLOUD_TRIGGER_TIMEOUT_SECONDS,
        function_timeout_max=function_max,
        trigger_timeout_max=trigger_max,
        webhook_key=webhook_key(app.application_id) if role_allows(role, Permission.MANAGE_CLOUD_CODE) else None,
    )


# Schema as code (hangar.schema_history): the reads behind `hangar schema pull/diff/history`.


def app_permitted_get(*, developer: Developer, organization: Organization, app_pk: int, permission: Permission) -> App:
    """The organization's active app if the developer's role there has ``permission``; otherwise NotFoundError."""
    membership_require(actor=developer, organization=organization, permission=permission)
    app = organization.apps.filter(pk=_pk(app_pk, "App"), status=App.Status.ACTIVE).first()
    if app is None:
        raise NotFoundError("App not found.")
    return app


def schema_file_get(*, developer: Developer, organization: Organization, app_pk: int) -> dict[str, Any]:
    """The app's schema in the schema file's format (``schema pull``)."""
    app = app_permitted_get(
        developer=developer, organization=organization, app_pk=app_pk, permission=Permission.VIEW_ORG
    )
    return document_render(schema_document_get(app=app))


def schema_diff_get(
    *, developer: Developer, organization: Organization, app_pk: int, document: Any, allow_destructive: bool
) -> Plan:
    """What pushing ``document`` would change (``schema diff``); a file not in the format is a ValidationFailedError."""
    app = app_permitted_get(
        developer=developer, organization=organization, app_pk=app_pk, permission=Permission.VIEW_ORG
    )
    try:
        return schema_plan(app=app, raw=document, allow_destructive=allow_destructive)
    except SchemaChangeError as exc:
        raise ValidationFailedError(exc.message, field="schema") from exc


def schema_migration_list_for(
    *, developer: Developer, organization: Organization, app_pk: int
) -> list[SchemaMigration]:
    """The app's recorded schema migrations, newest first (``schema history``)."""
    app = app_permitted_get(
        developer=developer, organization=organization, app_pk=app_pk, permission=Permission.VIEW_ORG
    )
    return schema_migration_list(app=app)


def promotion_source_get(*, developer: Developer, source_app_id: str) -> App:
    """The app a schema is promoted from, by application id, in any organization where the developer may look."""
    source = App.objects.filter(application_id=source_app_id, status=App.Status.ACTIVE).select_related("organization")
    app = source.first()
    if app is None:
        raise NotFoundError("Source app not found.")
    membership_require(actor=developer, organization=app.organization, permission=Permission.VIEW_ORG)
    return app
