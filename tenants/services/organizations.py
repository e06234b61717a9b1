"""Organizations."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import transaction
from django.utils.text import slugify

from tenants.audit import audit_record
from tenants.errors import ValidationFailedError
from tenants.models import Developer, Membership, Organization, Plan
from tenants.roles import Permission, Role
from tenants.services.access import membership_require

DEFAULT_PLAN_NAME = "free"


def _default_plan() -> Plan:
    # A finite storage quota: anyone can sign up, and the disk is shared by every organization.
    plan, _ = Plan.objects.get_or_create(
        name=DEFAULT_PLAN_NAME,
        defaults={
            "requests_per_second": settings.HANGAR_DEFAULT_PLAN_RPS,
            "storage_quota_bytes": settings.HANGAR_FILES_DEFAULT_QUOTA_BYTES,
        },
    )
    return plan


def _clean_name(name: str, *, what: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationFailedError(f"{what} name cannot be empty.", field="name")
    if len(name) > 100:
        raise ValidationFailedError(f"{what} name is at most 100 characters.", field="name")
    return name


def _unique_slug(name: str) -> str:
    base = slugify(name)[:100] or "org"
    slug = base
    while Organization.objects.filter(slug=slug).exists():
        slug = f"{base}-{secrets.token_hex(3)}"
    return slug


def organization_create(*, actor: Developer, name: str) -> Organization:
    """Create an organization with the actor as its owner."""
    name = _clean_name(name, what="Organization")
    with transaction.atomic():
        organization = Organization.objects.create(name=name, slug=_unique_slug(name), plan=_default_plan())
        Membership.objects.create(organization=organization, developer=actor, role=Role.OWNER.value)
        audit_record(
            actor=actor, organization=organization, action="organization.create",
            target_type="organization", target_id=organization.pk, target_name=name,
        )  # fmt: skip
    return organization


def organization_rename(*, actor: Developer, organization: Organization, name: str) -> Organization:
    name = _clean_name(name, what="Organization")
    with transaction.atomic():
        membership_require(actor=actor, organization=organization, permission=Permission.RENAME_ORG)
        old_name = organization.name
        organization.name = name
        organization.save(update_fields=["name"])
        audit_record(
            actor=actor, organization=organization, action="organization.rename",
            target_type="organization", target_id=organization.pk, target_name=name,
            details={"from": old_name, "to": name},
        )  # fmt: skip
    return organization
