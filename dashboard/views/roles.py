"""An app's Roles: create and delete roles, their users and the roles nested in them (through the _Role relations).

A role's "included roles" are its ``roles`` relation: their users inherit its rights.
Adding one that already includes this role (directly or further down) is refused, so
the dashboard never builds a cycle.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from dashboard.access import DeveloperRequest, app_view, capabilities
from dashboard.paging import page_links
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


def _role_changed(
    request: DeveloperRequest, access: AppAccess, role_id: str, change: Callable[[], object], done: str
) -> HttpResponse:
    """Make one change to a role through the Parse services; say how it went, back on the role's page."""
    try:
        change()
    except ParseError as exc:
        _error(request, exc)
    else:
        messages.success(request, done)
    return _to_role(access, role_id)


def _to_role(access: AppAccess, role_id: str) -> HttpResponse:
    return redirect("dashboard:role_detail", organization_id=access.organization.pk, app_id=access.app.pk,
                    role_id=role_id)  # fmt: skip


@require_GET
@app_view()
def role_list(request: DeveloperRequest, access: AppAccess) -> HttpResponse:
    page, error = None, ""
    try:
        page = users_console.role_page(app=access.app, cursor=request.GET.get("after") or None)
    except ParseError as exc:
        error = f"{exc.message} (Parse error {exc.code})"
    context = _context(access, roles=page.rows if page else [], links=page_links(request, page), error=error)
    return render(request, "dashboard/apps/roles.html", context)


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
        members = users_console.role_members(
            app=access.app, role_id=role_id, cursor=request.GET.get("members_after") or None
        )
        children = users_console.role_children(
            app=access.app, role_id=role_id, cursor=request.GET.get("roles_after") or None
        )
        parents = users_console.role_parents(
            app=access.app, role_id=role_id, cursor=request.GET.get("parents_after") or None
        )
    except ParseError as exc:
        _error(request, exc)
        return _to_roles(access)
    context = _context(
        access, role=role, members=members.rows, member_links=page_links(request, members, "members_after"),
        children=children.rows, child_links=page_links(request, children, "roles_after"),
        parents=parents.rows, parent_links=page_links(request, parents, "parents_after"),
    )  # fmt: skip
    return render(request, "dashboard/apps/role.html", context)


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
    return _role_changed(
        request,
        access,
        role_id,
        lambda: users_console.role_member_add(
            app=access.app, role_id=role_id, username=request.POST.get("username", "")
        ),
        "Added the user to the role.",
    )


@require_POST
@app_view(requires=Permission.EDIT_DATA)
def role_member_remove(request: DeveloperRequest, access: AppAccess, role_id: str, user_id: str) -> HttpResponse:
    return _role_changed(
        request,
        access,
        role_id,
        lambda: users_console.role_member_remove(app=access.app, role_id=role_id, user_id=user_id),
        "Removed the user from the role.",
    )


@require_POST
@app_view(requires=Permission.EDIT_DATA)
def role_child_add(request: DeveloperRequest, access: AppAccess, role_id: str) -> HttpResponse:
    return _role_changed(
        request,
        access,
        role_id,
        lambda: users_console.role_child_add(app=access.app, role_id=role_id, child_name=request.POST.get("name", "")),
        "Included the role: its users now get this role's rights too.",
    )


@require_POST
@app_view(requires=Permission.EDIT_DATA)
def role_child_remove(request: DeveloperRequest, access: AppAccess, role_id: str, child_id: str) -> HttpResponse:
    return _role_changed(
        request,
        access,
        role_id,
        lambda: users_console.role_child_remove(app=access.app, role_id=role_id, child_id=child_id),
        "Removed the included role.",
    )
