"""Forms of the dashboard: they check the shape of input; the services check the rules."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm

from hangar.client_address import client_address_of_meta
from tenants.errors import (
    EmailTakenError,
    InvalidCredentialsError,
    SignInLockedError,
    TenantsError,
    ValidationFailedError,
)
from tenants.roles import Role
from tenants.services import developer_authenticate, two_factor


class SignUpForm(forms.Form):
    email = forms.EmailField(
        max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True})
    )
    name = forms.CharField(
        max_length=150, required=False, widget=forms.TextInput(attrs={"autocomplete": "name"}), label="Your name"
    )
    password = forms.CharField(
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 10 characters; not a common password.",
    )


class GuardedAuthenticationForm(AuthenticationForm):
    """Django's login form, checking the password through developer_authenticate (lockout, no oracle)."""

    locked = False  # set when the attempt was refused by the lockout; the view answers 429

    def clean(self) -> dict[str, Any]:
        email = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if email is not None and password:
            try:
                self.user_cache = developer_authenticate(
                    request=self.request, email=email, password=password,
                    address=client_address_of_meta(self.request.META) if self.request else None,
                )  # fmt: skip
            except SignInLockedError as exc:
                self.locked = True
                raise forms.ValidationError(exc.message, code="locked") from exc
            except InvalidCredentialsError as exc:
                raise self.get_invalid_login_error() from exc
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data


class LoginForm(GuardedAuthenticationForm):
    """The dashboard's login form, with the email field labelled as such."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["username"].label = "Email"
        self.fields["username"].widget.input_type = "email"
        self.fields["username"].widget.attrs["autocomplete"] = "email"


class AdminLoginForm(GuardedAuthenticationForm, AdminAuthenticationForm):
    """The admin site's login form (staff only), under the same lockout as the dashboard's.

    A staff developer who turned two-factor sign-in on also gives a current code (or a
    recovery code) here: the admin is no side door around the dashboard's second step.
    """

    code = forms.CharField(
        max_length=32, required=False, label="Two-factor code",
        help_text="Only if you turned two-factor sign-in on: the 6 digits from your app, or a recovery code.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )  # fmt: skip

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)  # staff and active, as the admin requires
        try:
            two_factor.second_factor_require(developer=user, code=self.cleaned_data.get("code") or "")
        except ValidationFailedError as exc:
            raise forms.ValidationError(exc.message, code="second_factor") from exc


class NameForm(forms.Form):
    """The one field of creating an organization or an app and of renaming an app."""

    name = forms.CharField(max_length=100, widget=forms.TextInput(attrs={"autocomplete": "off"}))


class LiveQueryClassesForm(forms.Form):
    """The classes LiveQuery clients may subscribe to, separated by commas or spaces; empty: every class."""

    classes = forms.CharField(
        max_length=10_000, required=False, label="LiveQuery classes",
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "Every class"}),
    )  # fmt: skip

    def class_names(self) -> list[str]:
        return [name for name in self.cleaned_data["classes"].replace(",", " ").split() if name]


class AppDeleteForm(forms.Form):
    confirm_name = forms.CharField(
        max_length=100, label="Type the app's name to confirm", widget=forms.TextInput(attrs={"autocomplete": "off"})
    )


def _role_choices(roles: list[Role]) -> list[tuple[str, str]]:
    return [(role.value, role.value.title()) for role in roles]


class InvitationForm(forms.Form):
    email = forms.EmailField(max_length=254, widget=forms.EmailInput(attrs={"placeholder": "teammate@example.com"}))
    role = forms.ChoiceField(choices=[], initial=Role.DEVELOPER.value)

    def __init__(self, *args: object, grantable: list[Role], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["role"].choices = _role_choices(grantable)  # type: ignore[attr-defined]


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=_role_choices(list(Role)))


def add_domain_error(form: forms.Form, error: TenantsError) -> None:
    """Show a service's error on the field it names, or above the form."""
    field = "email" if isinstance(error, EmailTakenError) else getattr(error, "field", None)
    messages = error.messages if isinstance(error, ValidationFailedError) else [error.message]
    for message in messages:
        form.add_error(field if field in form.fields else None, message)


def first_error(form: forms.Form) -> str:
    """One line for a flash message when a small inline form (a table row's) is refused."""
    for errors in form.errors.values():
        return str(errors[0])
    return "Check the form and try again."
