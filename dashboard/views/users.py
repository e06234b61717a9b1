"""An app's Users page: search and create end users; a user's sessions (revoke), reset and verification mails.

Reads need membership; every change needs ``edit_data``, like the Data pages, and goes
through tenants.users_console (the Parse API's own services).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from dashboard.access import DeveloperRequest, app_view, capabilities
from dashboard.paging import page_links
from hangar.parse_errors import ParseError
from tenants import users_console
from tenants.errors import NotFoundError
from tenants.roles import Permission
from tenants.selectors import AppAccess

MAIL_KINDS = ("reset", "verify")


def _context(access: AppAccess, **extra: Any) -> dict[str, Any]:
    return {"access": access, "app": access.app, "can": capabilities(access.role), "tab": "users", **extra}


def _error(request: DeveloperRequest, exc: ParseError) -> None:
    messages.error(request, f"{exc.message} (Parse error {exc.code})")


def _to_user(access: AppAccess, user_id: str) -> HttpResponse:
    return redirect("dashboard:user_detail", organization_id=access.organization.pk, app_id=access.app.pk,
                    user_id=user_id)  # fmt: skip


@require_GET
@app_view()
def user_list(request: DeveloperRequest, access: AppAccess) -> HttpResponse:
    search = request.GET.get("q", "")
    page, error = None, ""
    try:
        page = users_console.user_page(app=access.app, search=search, cursor=request.GET.get("after") or None)
    except ParseError as exc:
        error = f"{exc.message} (Parse error {exc.code})"
    next_query = request.GET.copy()
    if page is not None and page.next_cursor:
        next_query["after"] = page.next_cursor
    context = _context(
        access, page=page, search=search, error=error,
        next_url=f"?{next_query.urlencode()}" if page and page.next_cursor else "",
    )  # fmt: skip
    return render(request, "dashboard/apps/users.html", context)


@require_POST
@app_view(requires=Permission.EDIT_DATA)
def user_create(request: DeveloperRequest, access: AppAccess) -> HttpResponse:
    try:
        user_id = users_console.user_create(
            app=access.app, username=request.POST.get("username", ""), password=request.POST.get("password", ""),
            email=request.POST.get("email", ""),
        )  # fmt: skip
    except ParseError as exc:
        _error(request, exc)
        return redirect("dashboard:users", organization_id=access.organization.pk, app_id=access.app.pk)
    messages.success(request, "Created the user.")
    return _to_user(access, user_id)


@require_GET
@app_view()
def user_detail(request: DeveloperRequest, access: AppAccess, user_id: str) -> HttpResponse:
    try:
        user = users_console.user_get(app=access.app, user_id=user_id)
        sessions = users_console.user_sessions(app=access.app, user_id=user_id, cursor=request.GET.get("after") or None)
    except ParseError as exc:
        _error(request, exc)
        return redirect("dashboard:users", organization_id=access.organization.pk, app_id=access.app.pk)
    context = _context(access, user=user, sessions=sessions.rows, session_links=page_links(request, sessions))
    return render(request, "dashboard/apps/user.html", context)


@require_POST
@app_view(requires=Permission.EDIT_DATA)
def user_session_revoke(request: DeveloperRequest, access: AppAccess, user_id: str, session_id: str) -> HttpResponse:
    try:
        users_console.session_revoke(app=access.app, user_id=user_id, session_id=session_id)
    except ParseError as exc:
        _error(request, exc)
    else:
        messages.success(request, "Revoked the session; its token no longer works.")
    return _to_user(access, user_id)


@require_POST
@app_view(requires=Permission.EDIT_DATA)
def user_mail(request: DeveloperRequest, access: AppAccess, user_id: str, kind: str) -> HttpResponse:
    if kind not in MAIL_KINDS:
        raise NotFoundError("No such mail.")
    try:
        email = str(users_console.user_get(app=access.app, user_id=user_id).get("email") or "")
        if not email:
            messages.error(request, "This user has no email address.")
            return _to_user(access, user_id)
        if kind == "reset":
            users_console.password_reset_send(app=access.app, email=email)
        else:
            users_console.verification_send(app=access.app, email=email)
    except ParseError as exc:
        _error(request, exc)
    else:
        sent = "a password reset link" if kind == "reset" else "a verification link (if the app verifies emails)"
        messages.success(request, f"Sent {sent} to {email}.")
    return _to_user(access, user_id)
