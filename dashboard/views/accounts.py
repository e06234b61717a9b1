"""Sign up, log in, log out."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.contrib.auth.views import (
    LoginView,
    LogoutView,
    PasswordResetCompleteView,
    PasswordResetConfirmView,
    PasswordResetDoneView,
    PasswordResetView,
)
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from dashboard.forms import LoginForm, SignUpForm, add_domain_error
from dashboard.views.account_security import second_step_start
from hangar.client_address import client_address_of_meta
from tenants import services
from tenants.errors import EmailTakenError, ValidationFailedError
from tenants.services import two_factor


def safe_next(request: HttpRequest) -> str:
    """The ``next`` URL of the request if it points back into this site, else ''."""
    url = request.POST.get("next") or request.GET.get("next") or ""
    allowed = url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return url if allowed else ""


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(safe_next(request) or "dashboard:home")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            developer = services.developer_sign_up(**form.cleaned_data)
        except (EmailTakenError, ValidationFailedError) as exc:
            add_domain_error(form, exc)
        else:
            login(request, developer, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, "Welcome to Hangar! We created an organization for you; add your first app.")
            return redirect(safe_next(request) or "dashboard:home")
    return render(request, "dashboard/accounts/signup.html", {"form": form, "next": safe_next(request)})


class DashboardLoginView(LoginView):
    """Django's login view; an attempt refused by the lockout answers 429 (the form says why)."""

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        developer = form.get_user()
        if two_factor.totp_enabled(developer=developer):  # the password was right; the code comes next
            return second_step_start(self.request, developer, self.get_success_url())
        return super().form_valid(form)

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_invalid(form)
        if isinstance(form, LoginForm) and form.locked:
            response.status_code = 429
        return response


login_view = DashboardLoginView.as_view(
    template_name="dashboard/accounts/login.html", authentication_form=LoginForm, redirect_authenticated_user=True
)
logout_view = LogoutView.as_view()

# Developer password reset by email: Django's views (signed, single-use, time-limited tokens;
# the same answer whether or not the address has an account), with the dashboard's templates.
_ACCOUNTS = "dashboard/accounts/"
RESET_MAILS_PER_HOUR = 5  # per address asked for, and 4x that per client address


class ThrottledPasswordResetView(PasswordResetView):
    """Django's reset form, with a budget per email and per client address so it cannot flood a mailbox."""

    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        email = form.cleaned_data["email"].lower()
        keys = [
            (f"hangar:pwreset:email:{email}", RESET_MAILS_PER_HOUR),
            (f"hangar:pwreset:ip:{client_address_of_meta(self.request.META)}", 4 * RESET_MAILS_PER_HOUR),
        ]
        for key, limit in keys:
            cache.add(key, 0, timeout=3600)
            if cache.incr(key) > limit:
                # The same page as a sent mail: the answer must not tell what happened.
                return redirect(self.get_success_url())
        return super().form_valid(form)


password_reset = ThrottledPasswordResetView.as_view(
    template_name=_ACCOUNTS + "password_reset.html", email_template_name=_ACCOUNTS + "password_reset_email.txt",
    subject_template_name=_ACCOUNTS + "password_reset_subject.txt",
    success_url=reverse_lazy("dashboard:password_reset_done"),
)  # fmt: skip
password_reset_done = PasswordResetDoneView.as_view(template_name=_ACCOUNTS + "password_reset_done.html")
password_reset_confirm = PasswordResetConfirmView.as_view(
    template_name=_ACCOUNTS + "password_reset_confirm.html",
    success_url=reverse_lazy("dashboard:password_reset_complete"),
)
password_reset_complete = PasswordResetCompleteView.as_view(template_name=_ACCOUNTS + "password_reset_complete.html")
