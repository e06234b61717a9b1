"""The HTML pages the verification and reset mails link to (reference §7, ``/apps/...`` rows; §10.5).

Control-plane Django views, kept thin: resolve the app from the link, call one identity
service (async data-plane code, run with ``async_to_sync``) and render. The links are
built by ``hangar.identity.tasks.email_link``; the tokens' single use and expiry are the
services' business.
"""

from __future__ import annotations

from asgiref.sync import async_to_sync
from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from hangar.identity import selectors, users
from hangar.parse_errors import PASSWORD_MISSING, VALIDATION_ERROR, ParseError
from tenants.models import App


class ChoosePasswordForm(forms.Form):
    token = forms.CharField(widget=forms.HiddenInput, max_length=200)
    new_password = forms.CharField(label="New password", strip=False, widget=forms.PasswordInput, max_length=1024)
    confirm_password = forms.CharField(label="Repeat it", strip=False, widget=forms.PasswordInput, max_length=1024)

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if data.get("new_password") and data.get("new_password") != data.get("confirm_password"):
            self.add_error("confirm_password", "The two passwords differ.")
        return data


def _invalid(request: HttpRequest, app: App) -> HttpResponse:
    return render(request, "identity/page_link_invalid.html", {"app_name": app.name}, status=400)


@never_cache
@require_http_methods(["GET", "POST"])
def choose_password(request: HttpRequest, application_id: str) -> HttpResponse:
    """Show the new-password form for a live reset token; on POST set the password (once)."""
    app = selectors.page_app_get(application_id=application_id)
    if request.method == "GET":
        token = request.GET.get("token", "")
        if not token or not async_to_sync(selectors.reset_token_valid)(app_pk=app.pk, token=token):
            return _invalid(request, app)
        form = ChoosePasswordForm(initial={"token": token})
        return render(request, "identity/page_choose_password.html", {"app_name": app.name, "form": form})
    form = ChoosePasswordForm(request.POST)
    if form.is_valid():
        try:
            async_to_sync(users.password_reset_complete)(
                app_pk=app.pk, token=form.cleaned_data["token"], new_password=form.cleaned_data["new_password"]
            )
        except ParseError as error:
            if error.code not in (VALIDATION_ERROR, PASSWORD_MISSING):
                return _invalid(request, app)
            form.add_error("new_password", error.message)
        else:
            return render(request, "identity/page_password_changed.html", {"app_name": app.name})
    return render(request, "identity/page_choose_password.html", {"app_name": app.name, "form": form}, status=400)


@never_cache
@require_http_methods(["GET"])
def verify_email(request: HttpRequest, application_id: str) -> HttpResponse:
    """Mark the email verified (following the link is the confirmation, as in Parse Server)."""
    app = selectors.page_app_get(application_id=application_id)
    token = request.GET.get("token", "")
    if not token or not async_to_sync(users.email_verify_complete)(app_pk=app.pk, token=token):
        return _invalid(request, app)
    return render(request, "identity/page_email_verified.html", {"app_name": app.name})
