"""An app's Roles: create and delete roles, add and remove their users (through the _Role rules and relations)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from dashboard.access import DeveloperRequest, app_view, capabilities
from hangar.parse_errors import ParseError
from tenants import users_console
from tenants.roles import Permission
from tenants.selectors import AppAccess


def _context(access: AppAccess, **extra: Any) -> dict[str, Any]:
    return {"access": access, "app": access.app, "can": capabilities(access.role), "tab": "users", **extra}


def _error(request: DeveloperRequest, exc: ParseError) -> None:
    messages.error(request, f"{exc.message} (Parse error {exc.code})")


def _to_roles(access: AppAccess) -> HttpResponse:
    return redirect("dashboard:roles", organization_id=access.organization.pk, app_id=access.app.pk)


def _to_role(access: AppAccess, role_id: str) -> HttpResponse:
    return redirect("dashboard:role_detail", organization_id=access.organization.pk, app_id=access.app.pk,
                    role_id=role_id)  # fmt: skip


@require_GET
@app_view()
def role_list(request: DeveloperRequest, access: AppAccess) -> HttpResponse:
    return render(request, "dashboard/apps/roles.html", _context(access, roles=users_console.role_list(app=access.app)))


@require_POST
@app_view(requires=Permission.EDIT_DATA)
def role_create(request: DeveloperRequest, access: AppAccess) -> HttpResponse:
    try:
        role_id = users_console.role_create(
            app=access.app, name=request.POST.get("name", ""), public_read="public_read" in request.POST
        )
    except ParseError as exc:
        _error(request, exc)
        return _to_roles(access)
    messages.success(request, "Created the role.")
    return _to_role(access, role_id)


@require_GET
@app_view()
def role_detail(request: DeveloperRequest, access: AppAccess, role_id: str) -> HttpResponse:
    try:
        role = users_console.role_get(app=access.app, role_id=role_id)
        members = users_console.role_members(app=access.app, role_id=role_id)
    except ParseError as exc:
        _error(request, exc)
        return _to_roles(access)
    return render(request, "dashboard/apps/role.html", _context(access, role=role, members=members))


@require_POST
@app_view(requires=Permission.EDIT_DATA)
def role_delete(request: DeveloperRequest, access: AppAccess, role_id: str) -> HttpResponse:
    try:
        users_console.role_delete(app=access.app, role_id=role_id)
    except ParseError as exc:
        _error(request, exc)
        return _to_role(access, role_id)
    messages.success(request, "Deleted the role. Grants to its name now match no one.")
    return _to_roles(access)


@require_POST
@app_view(requires=Permission.EDIT_DATA)
def role_member_add(request: DeveloperRequest, access: AppAccess, role_id: str) -> HttpResponse:
    try:
        users_console.role_member_add(app=access.app, role_id=role_id, username=request.POST.get("username", ""))
    except ParseError as exc:
        _error(request, exc)
    else:
        messages.success(request, "Added the user to the role.")
    return _to_role(access, role_id)


@require_POST
@app_view(requires=Permission.EDIT_DATA)
def role_member_remove(request: DeveloperRequest, access: AppAccess, role_id: str, user_id: str) -> HttpResponse:
    try:
        users_console.role_member_remove(app=access.app, role_id=role_id, user_id=user_id)
    except ParseError as exc:
        _error(request, exc)
    else:
        messages.success(request, "Removed the user from the role.")
    return _to_role(access, role_id)
