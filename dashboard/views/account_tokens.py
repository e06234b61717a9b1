"""The developer's personal access tokens: create (named, read-only or full, all organizations or one), list, revoke."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from dashboard.access import DeveloperRequest, error_page
from tenants import selectors, services
from tenants.errors import NotFoundError, ValidationFailedError


def _page(request: DeveloperRequest, *, created: str = "", error: str = "", status: int = 200) -> HttpResponse:
    context = {
        "tokens": selectors.access_token_list(developer=request.user).select_related("organization"),
        "organizations": selectors.organization_list(developer=request.user),
        "created": created,
        "error": error,
    }
    return render(request, "dashboard/accounts/tokens.html", context, status=status)


def _organization_id(raw: str) -> int | None:
    return int(raw) if raw.isdigit() else None


@require_http_methods(["GET", "POST"])
@login_required
def access_tokens(request: DeveloperRequest) -> HttpResponse:
    if request.method == "GET":
        return _page(request)
    days = request.POST.get("expires_in_days", "").strip()
    try:
        _token, plain = services.access_token_create(
            developer=request.user, name=request.POST.get("name", ""),
            expires_in_days=int(days) if days.isdigit() else None,
            read_only=request.POST.get("access") == "read",
            organization_id=_organization_id(request.POST.get("organization", "")),
        )  # fmt: skip
    except (ValidationFailedError, NotFoundError) as exc:
        return _page(request, error=exc.message, status=400)
    # The plain token is shown in this response only; it is never stored.
    return _page(request, created=plain)


@require_POST
@login_required
def access_token_revoke(request: DeveloperRequest, token_id: int) -> HttpResponse:
    try:
        services.access_token_revoke(developer=request.user, token_id=token_id)
    except NotFoundError as exc:  # someone else's token looks like one that does not exist
        return error_page(request, status=404, message=exc.message)
    messages.success(request, "Revoked the token. Anything using it is refused from now on.")
    return redirect("dashboard:access_tokens")
