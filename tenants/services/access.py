"""Authorization of one developer's action on one organization."""

from __future__ import annotations

from tenants.errors import NotFoundError, PermissionDeniedError
from tenants.models import Developer, Membership, Organization
from tenants.roles import MINIMUM_ROLE, Permission, Role, role_allows


def membership_require(*, actor: Developer, organization: Organization, permission: Permission) -> Membership:
    """Return the actor's membership if its role allows ``permission``.

    A non-member gets NotFoundError, not PermissionDenied: an organization one does
    not belong to is indistinguishable from one that does not exist.
    """
    membership = Membership.objects.filter(organization=organization, developer=actor).first()
    if membership is None:
        raise NotFoundError("Organization not found.")
    if not role_allows(membership.role, permission):
        needed = MINIMUM_ROLE[permission]
        raise PermissionDeniedError(f"This needs the {needed.value} role or higher; you are {membership.role}.")
    return membership


def role_of(*, actor: Developer, organization: Organization) -> Role | None:
    membership = Membership.objects.filter(organization=organization, developer=actor).first()
    return Role(membership.role) if membership else None
