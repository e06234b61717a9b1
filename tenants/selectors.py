"""Reads of the tenants domain; every read is scoped to what the developer may see."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

from hangar.secretbox import decrypt_secret
from tenants.errors import NotFoundError
from tenants.models import App, AppKey, AuditEvent, Developer, Invitation, Membership, Organization
from tenants.roles import Permission, Role, role_allows
from tenants.services.access import membership_require


def organization_list(*, developer: Developer) -> QuerySet[Organization]:
    return Organization.objects.filter(memberships__developer=developer).order_by("name", "pk")


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
