"""The edge of every organization and app page: who is asking, for which tenant, with what role.

A view decorated here receives the resolved ``OrganizationAccess`` or ``AppAccess`` and
then calls one service or selector. The decorator turns the domain's NotFoundError and
PermissionDeniedError, wherever they are raised, into the dashboard's 404 and 403 pages,
so another organization's ids look exactly like ids that do not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_htmx.middleware import HtmxDetails

from tenants import selectors
from tenants.errors import NotFoundError, PermissionDeniedError
from tenants.models import Developer
from tenants.roles import MINIMUM_ROLE, Permission, Role, role_allows


class DeveloperRequest(HttpRequest):
    """For type hints: a request behind ``login_required`` carries a Developer (and django-htmx's details)."""

    user: Developer
    htmx: HtmxDetails


View = Callable[..., HttpResponse]

_ERROR_TITLES = {403: "You don't have access to this", 404: "Page not found"}


def error_page(request: HttpRequest, *, status: int, message: str) -> HttpResponse:
    context = {"status": status, "title": _ERROR_TITLES[status], "message": message}
    return render(request, "dashboard/error.html", context, status=status)


def capabilities(role: Role) -> dict[str, bool]:
    """What a role allows, keyed by permission name, so templates show only permitted actions."""
    return {permission.value: role_allows(role, permission) for permission in Permission}


def _require(role: Role, permission: Permission) -> None:
    if not role_allows(role, permission):
        needed = MINIMUM_ROLE[permission].value
        raise PermissionDeniedError(f"This needs the {needed} role or higher; you are {role.value}.")


def _guarded(request: HttpRequest, call: Callable[[], HttpResponse]) -> HttpResponse:
    try:
        return call()
    except NotFoundError as exc:
        return error_page(request, status=404, message=exc.message)
    except PermissionDeniedError as exc:
        return error_page(request, status=403, message=exc.message)


def organization_view(requires: Permission = Permission.VIEW_ORG) -> Callable[[View], View]:
    """Resolve ``organization_id`` to the member's access and deny roles below ``requires``."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: DeveloperRequest, organization_id: int, **kwargs: Any) -> HttpResponse:
            def call() -> HttpResponse:
                access = selectors.organization_access_get(developer=request.user, organization_id=organization_id)
                _require(access.role, requires)
                return view(request, access, **kwargs)

            return _guarded(request, call)

        return login_required(wrapper)

    return decorate


def app_view(requires: Permission = Permission.VIEW_ORG) -> Callable[[View], View]:
    """Resolve ``organization_id`` and ``app_id`` to the member's access and deny roles below ``requires``."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: DeveloperRequest, organization_id: int, app_id: int, **kwargs: Any) -> HttpResponse:
            def call() -> HttpResponse:
                access = selectors.app_access_get(
                    developer=request.user, organization_id=organization_id, app_pk=app_id
                )
                _require(access.role, requires)
                return view(request, access, **kwargs)

            return _guarded(request, call)

        return login_required(wrapper)

    return decorate
