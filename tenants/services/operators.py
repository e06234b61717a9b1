"""Operator shortcuts used by management commands (no dashboard session involved)."""

from __future__ import annotations

from django.db import transaction

from tenants.models import App, Developer, Membership, Organization
from tenants.roles import Role
from tenants.services.accounts import normalized_email
from tenants.services.apps import app_create
from tenants.services.organizations import organization_create


def _developer_ensure(email: str) -> Developer:
    """Find a developer by email, or create one who signs in after a password reset by an admin."""
    email = normalized_email(email)
    developer = Developer.objects.filter(email__iexact=email).first()
    if developer is None:
        developer = Developer.objects.create_user(email=email, password=None)  # unusable password
    return developer


def _organization_ensure(name: str, owner: Developer) -> Organization:
    owned = Organization.objects.filter(
        name=name, memberships__developer=owner, memberships__role=Role.OWNER.value
    ).first()
    if owned is not None:
        return owned
    return organization_create(actor=owner, name=name)


def operator_app_create(*, organization_name: str, app_name: str, owner_email: str) -> tuple[App, dict[str, str]]:
    """Create an app in the owner's organization of that name, creating owner and organization if missing."""
    with transaction.atomic():
        owner = _developer_ensure(owner_email)
        organization = _organization_ensure(organization_name, owner)
        Membership.objects.get(organization=organization, developer=owner)  # the owner is a member by construction
        return app_create(actor=owner, organization=organization, name=app_name)
