"""An app's messaging page: provider credentials per kind (secrets write-only) and the log provider's records."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from dashboard.access import DeveloperRequest, app_view, capabilities
from hangar.messaging.credentials import KINDS
from tenants.errors import NotFoundError, PermissionDeniedError, TenantsError
from tenants.roles import Permission, role_allows
from tenants.selectors import AppAccess
from tenants.services import messaging_providers

RECENT_LOGGED = 50

# kind -> (title, [(field, label, input type, help)]); "secret" inputs are never filled back in.
FORMS: dict[str, tuple[str, list[tuple[str, str, str, str]]]] = {
    "fcm": ("Firebase Cloud Messaging (Android)", [
        ("service_account", "Service account JSON", "secret-text",
         "The key file from Firebase > Project settings > Service accounts."),
        ("base_url", "Base URL", "text", "Optional; default https://fcm.googleapis.com."),
    ]),
    "apns": ("Apple Push Notification service (iOS)", [
        ("key", ".p8 key", "secret-text", "The AuthKey_XXXXXXXXXX.p8 file's text."),
        ("key_id", "Key ID", "text", ""), ("team_id", "Team ID", "text", ""),
        ("topic", "Bundle ID", "text", "Used when an installation has no appIdentifier."),
        ("production", "Production (not sandbox)", "checkbox", ""),
        ("base_url", "Base URL", "text", "Optional."),
    ]),
    "webpush": ("Web Push (VAPID)", [
        ("private_key", "VAPID private key", "secret-text", "PEM, or the raw key in base64url."),
        ("subject", "Subject", "text", "mailto: or https: contact for the push services."),
    ]),
    "twilio": ("Twilio SMS", [
        ("account_sid", "Account SID", "text", ""), ("auth_token", "Auth token", "secret", ""),
        ("api_key_sid", "API key SID", "text", "Optional: then the auth token is the key's secret."),
        ("sender", "Sender", "text", "An E.164 number or an alphanumeric sender id."),
        ("messaging_service_sid", "Messaging service SID", "text", "Instead of a sender."),
        ("base_url", "Base URL", "text", "Optional."),
    ]),
    "sns": ("Amazon SNS SMS", [
        ("access_key_id", "Access key ID", "text", ""), ("secret_access_key", "Secret access key", "secret", ""),
        ("region", "Region", "text", ""), ("sender_id", "Sender ID", "text", "Optional."),
    ]),
    "ses": ("Amazon SES email", [
        ("access_key_id", "Access key ID", "text", ""), ("secret_access_key", "Secret access key", "secret", ""),
        ("region", "Region", "text", ""), ("sender", "Sender", "text", "A verified address, Name <address> allowed."),
    ]),
    "smtp": ("SMTP email", [
        ("host", "Host", "text", ""), ("port", "Port", "number", ""), ("username", "User name", "text", ""),
        ("password", "Password", "secret", ""), ("security", "Security (tls, starttls or none)", "text", ""),
        ("sender", "Sender", "text", "Name <address> allowed."),
    ]),
}  # fmt: skip


def _config_from(kind: str, post: Any) -> dict[str, Any]:
    """The form's fields as the kind's config: blank optional fields left out, types as the API takes them."""
    config: dict[str, Any] = {}
    for name, _label, input_type, _help in FORMS[kind][1]:
        if input_type == "checkbox":
            config[name] = post.get(name) == "on"
            continue
        value = str(post.get(name, "")).strip()
        if not value:
            continue
        config[name] = int(value) if input_type == "number" and value.isdigit() else value
    return config


def _page(request: DeveloperRequest, access: AppAccess) -> HttpResponse:
    developer, organization, app = request.user, access.organization, access.app
    rows = {row.kind: row for row in messaging_providers.messaging_provider_list(
        actor=developer, organization=organization, app_pk=app.pk
    )}  # fmt: skip
    logged = None
    if role_allows(access.role, Permission.VIEW_MESSAGING_LOG):
        logged = messaging_providers.messaging_log_list(
            actor=developer, organization=organization, app_pk=app.pk, limit=RECENT_LOGGED
        )
    kinds = [{"kind": kind, "title": FORMS[kind][0], "fields": FORMS[kind][1], "row": rows[kind]} for kind in KINDS]
    context = {"access": access, "app": app, "can": capabilities(access.role), "tab": "messaging", "kinds": kinds,
               "logged": logged}  # fmt: skip
    return render(request, "dashboard/apps/messaging_providers.html", context)


def _back(access: AppAccess) -> HttpResponse:
    return redirect("dashboard:messaging_providers", organization_id=access.organization.pk, app_id=access.app.pk)


@require_GET
@app_view(requires=Permission.VIEW_ORG)
def messaging_providers_page(request: DeveloperRequest, access: AppAccess) -> HttpResponse:
    return _page(request, access)


@require_POST
@app_view(requires=Permission.MANAGE_MESSAGING_PROVIDERS)
def messaging_provider_set(request: DeveloperRequest, access: AppAccess, kind: str) -> HttpResponse:
    if kind not in FORMS:
        raise Http404
    try:
        messaging_providers.messaging_provider_set(
            actor=request.user, organization=access.organization, app_pk=access.app.pk, kind=kind,
            config=_config_from(kind, request.POST),
        )  # fmt: skip
    except (NotFoundError, PermissionDeniedError):
        raise
    except TenantsError as exc:
        messages.error(request, f"{FORMS[kind][0]}: {exc.message}")
    else:
        messages.success(request, f"Saved the {FORMS[kind][0]} credentials; they are used from the next message on.")
    return _back(access)


@require_POST
@app_view(requires=Permission.MANAGE_MESSAGING_PROVIDERS)
def messaging_provider_delete(request: DeveloperRequest, access: AppAccess, kind: str) -> HttpResponse:
    try:
        messaging_providers.messaging_provider_delete(
            actor=request.user, organization=access.organization, app_pk=access.app.pk, kind=kind
        )
    except NotFoundError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Removed the {kind} credentials; the log provider takes over.")
    return _back(access)
