"""Members of organizations: invitations, role changes, removal."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from hangar.secretbox import token_digest
from tenants.audit import audit_record
from tenants.errors import InvitationInvalidError, NotFoundError, ValidationFailedError
from tenants.models import Developer, Invitation, Membership, Organization
from tenants.roles import Permission, Role
from tenants.services.access import membership_require
from tenants.services.accounts import normalized_email


def _parse_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError as exc:
        raise ValidationFailedError(f"Unknown role {role!r}.", field="role") from exc


def _require_role_grant(*, actor: Developer, organization: Organization, role: Role) -> None:
    permission = Permission.MANAGE_OWNERS if role is Role.OWNER else Permission.MANAGE_MEMBERS
    membership_require(actor=actor, organization=organization, permission=permission)


def invitation_url(token: str) -> str:
    return f"{settings.HANGAR_PUBLIC_URL}/invitations/{token}/"


def _send_invitation_email(*, organization_name: str, inviter: str, email: str, role: str, token: str) -> None:
    send_mail(
        subject=f"You are invited to {organization_name} on Hangar",
        message=(
            f"{inviter} invited you to join {organization_name} on Hangar as {role}.\n\n"
            f"Accept the invitation: {invitation_url(token)}\n\n"
            f"The link expires in {settings.HANGAR_INVITATION_DAYS} days. "
            "If you did not expect it, ignore this email."
        ),
        from_email=None,
        recipient_list=[email],
    )


def invitation_create(*, actor: Developer, organization: Organization, email: str, role: str) -> tuple[Invitation, str]:
    """Invite someone by email; returns the invitation and its token (which only the email carries)."""
    email = normalized_email(email)
    granted = _parse_role(role)
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        _require_role_grant(actor=actor, organization=organization, role=granted)
        if Membership.objects.filter(organization=organization, developer__email__iexact=email).exists():
            raise ValidationFailedError("This person is already a member.", field="email")
        invitation = Invitation.objects.create(
            organization=organization, email=email, role=granted.value, digest=token_digest(token),
            invited_by=actor, expires_at=timezone.now() + timedelta(days=settings.HANGAR_INVITATION_DAYS),
        )  # fmt: skip
        audit_record(
            actor=actor, organization=organization, action="member.invite",
            target_type="invitation", target_id=invitation.pk, target_name=email, details={"role": granted.value},
        )  # fmt: skip
        transaction.on_commit(
            lambda: _send_invitation_email(
                organization_name=organization.name,
                inviter=actor.email,
                email=email,
                role=granted.value,
                token=token,
            )
        )
    return invitation, token


def invitation_accept(*, developer: Developer, token: str) -> Membership:
    """Accept an open invitation addressed to the developer's own email."""
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update()
            .select_related("organization")
            .filter(digest=token_digest(token))
            .first()
        )
        if invitation is None or not invitation.is_open():
            raise InvitationInvalidError("This invitation link is invalid, expired or already used.")
        if invitation.email.lower() != developer.email.lower():
            raise InvitationInvalidError(f"This invitation was sent to {invitation.email}; sign in with that address.")
        membership, created = Membership.objects.get_or_create(
            organization=invitation.organization, developer=developer, defaults={"role": invitation.role}
        )
        invitation.accepted_at = timezone.now()
        invitation.save(update_fields=["accepted_at"])
        audit_record(
            actor=developer, organization=invitation.organization, action="member.join",
            target_type="membership", target_id=membership.pk, target_name=developer.email,
            details={"role": membership.role, "already_member": not created},
        )  # fmt: skip
    return membership


def invitation_revoke(*, actor: Developer, organization: Organization, invitation_id: int) -> None:
    with transaction.atomic():
        membership_require(actor=actor, organization=organization, permission=Permission.MANAGE_MEMBERS)
        invitation = Invitation.objects.filter(organization=organization, pk=invitation_id).first()
        if invitation is None or not invitation.is_open():
            raise NotFoundError("Invitation not found.")
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        audit_record(
            actor=actor, organization=organization, action="member.invite_revoke",
            target_type="invitation", target_id=invitation.pk, target_name=invitation.email,
        )  # fmt: skip


def _member_of(organization: Organization, membership_id: int) -> Membership:
    membership = (
        Membership.objects.select_for_update().select_related("developer")
        .filter(organization=organization, pk=membership_id).first()
    )  # fmt: skip
    if membership is None:
        raise NotFoundError("Member not found.")
    return membership


def _ensure_another_owner(organization: Organization, leaving: Membership) -> None:
    owners = Membership.objects.select_for_update().filter(organization=organization, role=Role.OWNER.value)
    if leaving.role == Role.OWNER.value and owners.exclude(pk=leaving.pk).count() == 0:
        raise ValidationFailedError("An organization needs at least one owner.", field="role")


def membership_change_role(
    *, actor: Developer, organization: Organization, membership_id: int, role: str
) -> Membership:
    new_role = _parse_role(role)
    with transaction.atomic():
        membership = _member_of(organization, membership_id)
        touches_owner = Role.OWNER in (new_role, Role(membership.role))
        _require_role_grant(actor=actor, organization=organization, role=Role.OWNER if touches_owner else new_role)
        if new_role is not Role.OWNER:
            _ensure_another_owner(organization, membership)
        old_role = membership.role
        membership.role = new_role.value
        membership.save(update_fields=["role"])
        audit_record(
            actor=actor, organization=organization, action="member.role_change",
            target_type="membership", target_id=membership.pk, target_name=membership.developer.email,
            details={"from": old_role, "to": new_role.value},
        )  # fmt: skip
    return membership


def membership_remove(*, actor: Developer, organization: Organization, membership_id: int) -> None:
    """Remove a member; anyone may leave, removing others needs the admin (or owner) role."""
    with transaction.atomic():
        membership = _member_of(organization, membership_id)
        if membership.developer_id != actor.pk:
            _require_role_grant(actor=actor, organization=organization, role=Role(membership.role))
        else:
            membership_require(actor=actor, organization=organization, permission=Permission.VIEW_ORG)
        _ensure_another_owner(organization, membership)
        audit_record(
            actor=actor, organization=organization, action="member.remove",
            target_type="membership", target_id=membership.pk, target_name=membership.developer.email,
            details={"role": membership.role},
        )  # fmt: skip
        membership.delete()
