"""Two-factor sign-in for the developer's own account: enrol with a QR code, recovery codes, the login's second step.

After a right password, a developer with TOTP on is not logged in yet: the session holds
who they are for a few minutes and a few tries, and /login/code/ asks for the code.
"""

from __future__ import annotations

import time
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from dashboard.access import DeveloperRequest
from tenants.errors import ValidationFailedError
from tenants.models import Developer
from tenants.services import two_factor

PENDING = "hangar_2fa_pending"
PENDING_SECONDS = 300
PENDING_TRIES = 5


def second_step_start(request: HttpRequest, developer: Developer, next_url: str) -> HttpResponse:
    """Remember who typed the right password and send them to the code step (called by the login view)."""
    request.session.cycle_key()  # a fresh session id between the two steps
    request.session[PENDING] = {
        "id": developer.pk, "backend": getattr(developer, "backend", ""), "at": time.time(), "tries": 0,
        "next": next_url,
    }  # fmt: skip
    return redirect("dashboard:login_code")


def _pending_developer(request: HttpRequest) -> tuple[Developer | None, dict[str, Any]]:
    pending = request.session.get(PENDING) or {}
    if not pending or time.time() - float(pending["at"]) > PENDING_SECONDS or int(pending["tries"]) >= PENDING_TRIES:
        request.session.pop(PENDING, None)
        return None, {}
    developer = get_user_model().objects.filter(pk=pending["id"], is_active=True).first()
    return developer, pending


@require_http_methods(["GET", "POST"])
def login_code(request: HttpRequest) -> HttpResponse:
    developer, pending = _pending_developer(request)
    if developer is None:
        messages.error(request, "Sign in again: the code step expired or had too many wrong codes.")
        return redirect("dashboard:login")
    error = ""
    if request.method == "POST":
        if two_factor.second_factor_check(developer=developer, code=request.POST.get("code", "")):
            request.session.pop(PENDING, None)
            login(request, developer, backend=str(pending["backend"]) or None)
            return redirect(str(pending["next"]) or "dashboard:home")
        pending["tries"] = int(pending["tries"]) + 1
        request.session[PENDING] = pending
        error = "That code is not right."
    status = 400 if error else 200
    return render(request, "dashboard/accounts/login_code.html", {"error": error}, status=status)


def _security_page(request: DeveloperRequest, **extra: object) -> HttpResponse:
    context = {
        "enabled": two_factor.totp_enabled(developer=request.user),
        "codes_left": two_factor.recovery_codes_left(developer=request.user),
        **extra,
    }
    return render(request, "dashboard/accounts/security.html", context, status=400 if extra.get("error") else 200)


@require_http_methods(["GET"])
@login_required
def account_security(request: DeveloperRequest) -> HttpResponse:
    return _security_page(request)


@require_POST
@login_required
def totp_enrol(request: DeveloperRequest) -> HttpResponse:
    try:
        secret, uri = two_factor.totp_enrol_start(developer=request.user)
    except ValidationFailedError as exc:
        return _security_page(request, error=exc.message)
    return _security_page(request, secret=secret, qr_svg=two_factor.totp_qr_svg(uri), enrolling=True)


@require_POST
@login_required
def totp_confirm(request: DeveloperRequest) -> HttpResponse:
    try:
        codes = two_factor.totp_enrol_confirm(developer=request.user, code=request.POST.get("code", ""))
    except ValidationFailedError as exc:
        return _security_page(request, error=exc.message)
    return _security_page(request, recovery_codes=codes)


@require_POST
@login_required
def totp_disable(request: DeveloperRequest) -> HttpResponse:
    try:
        two_factor.totp_disable(developer=request.user, code=request.POST.get("code", ""))
    except ValidationFailedError as exc:
        return _security_page(request, error=exc.message)
    messages.success(request, "Two-factor sign-in is off.")
    return redirect("dashboard:account_security")
