"""The Settings page's policy forms: how end users sign in, what files the app takes, its rate limit."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from dashboard.access import DeveloperRequest, app_view
from tenants.errors import ValidationFailedError
from tenants.roles import Permission
from tenants.selectors import AppAccess
from tenants.services import app_policies
from tenants.services.app_policies import AuthPolicy, FilePolicy


def _int(post: QueryDict, name: str, default: int) -> int:
    raw = post.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        raise ValidationFailedError(f"{name.replace('_', ' ').capitalize()} is a whole number.", field=name)
    return int(raw)


def _list(raw: str) -> list[str]:
    return [item for item in raw.replace(",", " ").split() if item]


def _back(access: AppAccess) -> HttpResponse:
    return redirect("dashboard:app_settings", organization_id=access.organization.pk, app_id=access.app.pk)


@require_POST
@app_view(requires=Permission.MANAGE_END_USER_MFA)
def auth_policy(request: DeveloperRequest, access: AppAccess) -> HttpResponse:
    post = request.POST
    try:
        policy = AuthPolicy(
            verify_user_emails="verify_user_emails" in post,
            prevent_login_with_unverified_email="prevent_login_with_unverified_email" in post,
            allow_anonymous_users="allow_anonymous_users" in post,
            password_min_length=_int(post, "password_min_length", 0),
            password_pattern=post.get("password_pattern", ""),
            password_disallow_username="password_disallow_username" in post,
            lockout_threshold=_int(post, "lockout_threshold", 0), lockout_minutes=_int(post, "lockout_minutes", 5),
            session_length_days=_int(post, "session_length_days", 365),
            oauth_client_ids={name: _list(post.get(f"oauth_{name}", "")) for name in app_policies.OAUTH_PROVIDERS
                              if _list(post.get(f"oauth_{name}", ""))},
        )  # fmt: skip
        app_policies.auth_policy_set(
            actor=request.user, organization=access.organization, app_pk=access.app.pk, policy=policy
        )
    except ValidationFailedError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Saved how your users sign in.")
    return _back(access)


@require_POST
@app_view(requires=Permission.RENAME_APP)
def file_policy(request: DeveloperRequest, access: AppAccess) -> HttpResponse:
    post = request.POST
    try:
        max_mb = post.get("max_upload_mb", "").strip()
        if max_mb and not max_mb.isdigit():
            raise ValidationFailedError("The largest file is a whole number of MB.", field="max_upload_mb")
        policy = FilePolicy(
            max_upload_bytes=int(max_mb) * 1024 * 1024 if max_mb else None,
            allowed_content_types=_list(post.get("allowed_content_types", "").lower()),
            enable_for_public="enable_for_public" in post,
            enable_for_authenticated="enable_for_authenticated" in post,
            url_mode=post.get("url_mode", "hangar"),
        )  # fmt: skip
        app_policies.file_policy_set(
            actor=request.user, organization=access.organization, app_pk=access.app.pk, policy=policy
        )
    except ValidationFailedError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Saved the file settings.")
    return _back(access)


@require_POST
@app_view(requires=Permission.RENAME_APP)
def rate_limit(request: DeveloperRequest, access: AppAccess) -> HttpResponse:
    raw = request.POST.get("requests_per_second", "").strip()
    try:
        if raw and not raw.isdigit():
            raise ValidationFailedError("Requests per second is a whole number.", field="requests_per_second")
        app_policies.rate_limit_set(
            actor=request.user, organization=access.organization, app_pk=access.app.pk,
            requests_per_second=int(raw) if raw else None,
        )  # fmt: skip
    except ValidationFailedError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Saved the rate limit.")
    return _back(access)
