"""Members of an organization: list, invite, change role, remove, revoke invitations, accept one."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dashboard.access import DeveloperRequest, capabilities, organization_view
from dashboard.forms import InvitationForm, RoleForm, add_domain_error, first_error
from tenants import selectors, services
from tenants.errors import InvitationInvalidError, NotFoundError, ValidationFailedError
from tenants.models import Membership
from tenants.roles import Permission, Role, role_allows
from tenants.selectors import OrganizationAccess


@dataclass(frozen=True)
class MemberRow:
    """A member as the viewer may act on them; no role choices means the viewer may not change the role."""

    membership: Membership
    is_self: bool
    role_choices: list[Role]
    can_remove: bool


def grantable_roles(role: Role) -> list[Role]:
    """The roles a member with ``role`` may hand out (the owner role only by owners)."""
    return [r for r in Role if r is not Role.OWNER or role_allows(role, Permission.MANAGE_OWNERS)]


def member_rows(memberships: list[Membership], access: OrganizationAccess) -> list[MemberRow]:
    may_manage = role_allows(access.role, Permission.MANAGE_MEMBERS)
    grantable = grantable_roles(access.role)
    rows = []
    for membership in memberships:
        manageable = may_manage and Role(membership.role) in grantable
        is_self = membership.pk == access.membership_id
        choices = grantable if manageable else []
        rows.append(MemberRow(membership, is_self, choices, can_remove=is_self or manageable))
    return rows


def _to_members(access: OrganizationAccess) -> HttpResponse:
    return redirect("dashboard:member_list", organization_id=access.organization.pk)


@require_GET
@organization_view()
def member_list(request: DeveloperRequest, access: OrganizationAccess) -> HttpResponse:
    roster = selectors.member_roster_get(developer=request.user, organization=access.organization)
    context = {
        "access": access,
        "can": capabilities(access.role),
        "rows": member_rows(roster.memberships, access),
        "invitations": roster.invitations,
        "invite_form": InvitationForm(grantable=grantable_roles(access.role)),
        "tab": "members",
    }
    return render(request, "dashboard/members/list.html", context)


@require_http_methods(["GET", "POST"])
@organization_view(requires=Permission.MANAGE_MEMBERS)
def member_invite(request: DeveloperRequest, access: OrganizationAccess) -> HttpResponse:
    form = InvitationForm(request.POST or None, grantable=grantable_roles(access.role))
    if request.method == "POST" and form.is_valid():
        email, role = form.cleaned_data["email"], form.cleaned_data["role"]
        try:
            services.invitation_create(actor=request.user, organization=access.organization, email=email, role=role)
        except ValidationFailedError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, f"Invited {email} as {role}. They will get an email with a link to join.")
            return _to_members(access)
    context = {"access": access, "form": form, "invitation_days": settings.HANGAR_INVITATION_DAYS}
    return render(request, "dashboard/members/invite.html", context)


@require_POST
@organization_view(requires=Permission.MANAGE_MEMBERS)
def member_change_role(request: DeveloperRequest, access: OrganizationAccess, membership_id: int) -> HttpResponse:
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, first_error(form))
        return _to_members(access)
    try:
        membership = services.membership_change_role(
            actor=request.user,
            organization=access.organization,
            membership_id=membership_id,
            role=form.cleaned_data["role"],
        )
    except ValidationFailedError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{membership.developer.email} is now {membership.role}.")
    return _to_members(access)


@require_POST
@organization_view()
def member_remove(request: DeveloperRequest, access: OrganizationAccess, membership_id: int) -> HttpResponse:
    try:
        services.membership_remove(actor=request.user, organization=access.organization, membership_id=membership_id)
    except ValidationFailedError as exc:
        messages.error(request, exc.message)
        return _to_members(access)
    if membership_id == access.membership_id:
        messages.success(request, f"You left {access.organization.name}.")
        return redirect("dashboard:home")
    messages.success(request, "Removed the member.")
    return _to_members(access)


@require_POST
@organization_view(requires=Permission.MANAGE_MEMBERS)
def invitation_revoke(request: DeveloperRequest, access: OrganizationAccess, invitation_id: int) -> HttpResponse:
    services.invitation_revoke(actor=request.user, organization=access.organization, invitation_id=invitation_id)
    messages.success(request, "Revoked the invitation; its link no longer works.")
    return _to_members(access)


@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """Show an invitation (anyone holding the link) and let the invited developer accept it."""
    template = "dashboard/invitations/accept.html"
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        try:
            membership = services.invitation_accept(developer=request.user, token=token)
        except InvitationInvalidError as exc:
            return render(request, template, {"error": exc.message}, status=400)
        messages.success(request, f"You joined {membership.organization.name} as {membership.role}.")
        return redirect("dashboard:organization_detail", organization_id=membership.organization_id)
    try:
        invitation = selectors.invitation_get(token=token)
    except NotFoundError as exc:
        return render(request, template, {"error": exc.message}, status=404)
    user_email = request.user.email if request.user.is_authenticated else ""
    context = {"invitation": invitation, "email_matches": invitation.email.lower() == user_email.lower()}
    return render(request, template, context)
