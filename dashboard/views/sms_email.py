"""An app's "SMS and email" page: sender settings, templates with a preview, and the recent messages.

Plain forms over the same services as the management API (tenants.services.sms_email: the
same role checks, validation and audit). A preview renders the form's unsaved template with
a sample context and shows the page again with the result.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from dashboard.access import DeveloperRequest, app_view, capabilities
from tenants.errors import NotFoundError, PermissionDeniedError, TenantsError
from tenants.roles import Permission
from tenants.selectors import AppAccess
from tenants.services import end_user_mfa, sms_email

RECENT_MESSAGES = 30
SAMPLE_CONTEXT = '{"name": "Ada", "code": "123456"}'


def _page(request: DeveloperRequest, access: AppAccess, editing: dict[str, Any] | None = None) -> HttpResponse:
    developer, organization, app = request.user, access.organization, access.app
    context = {
        "access": access,
        "app": app,
        "can": capabilities(access.role),
        "tab": "sms_email",
        "sender": sms_email.sender_settings_get(actor=developer, organization=organization, app_pk=app.pk),
        "templates": sms_email.template_list(actor=developer, organization=organization, app_pk=app.pk),
        "recent": sms_email.message_list(
            actor=developer, organization=organization, app_pk=app.pk, channel=None, limit=RECENT_MESSAGES
        ),
        "editing": editing or {"channel": "email", "context": SAMPLE_CONTEXT},
        "mfa": end_user_mfa.end_user_mfa_get(actor=developer, organization=organization, app_pk=app.pk),
    }
    return render(request, "dashboard/apps/sms_email.html", context)


def _back(access: AppAccess) -> HttpResponse:
    return redirect("dashboard:sms_email", organization_id=access.organization.pk, app_id=access.app.pk)


def _posted_template(request: DeveloperRequest) -> dict[str, str]:
    return {key: str(request.POST.get(key, "")) for key in ("channel", "name", "subject", "text", "html", "context")}


@require_GET
@app_view(requires=Permission.MANAGE_MESSAGING)
def sms_email_page(request: DeveloperRequest, access: AppAccess) -> HttpResponse:
    name, channel = request.GET.get("edit"), request.GET.get("channel", "email")
    if not name:
        return _page(request, access)
    template = sms_email.template_get(
        actor=request.user, organization=access.organization, app_pk=access.app.pk, channel=channel, name=name
    )
    editing = {"channel": template.channel, "name": template.name, "subject": template.subject,
               "text": template.text, "html": template.html, "context": SAMPLE_CONTEXT}  # fmt: skip
    return _page(request, access, editing)


@require_POST
@app_view(requires=Permission.MANAGE_MESSAGING)
def sms_email_sender(request: DeveloperRequest, access: AppAccess) -> HttpResponse:
    fields = ("email_from_name", "email_from_address", "email_reply_to", "sms_sender_id")
    values = {key: str(request.POST.get(key, "")).strip() for key in fields}
    try:
        for key in ("email_from_address", "email_reply_to"):
            if values[key]:
                validate_email(values[key])
        sms_email.sender_settings_update(
            actor=request.user, organization=access.organization, app_pk=access.app.pk, values=values
        )
    except (NotFoundError, PermissionDeniedError):
        raise
    except TenantsError as exc:
        messages.error(request, exc.message)
    except ValidationError as exc:  # a bad address
        messages.error(request, f"Not saved: {'; '.join(exc.messages)}")
    else:
        messages.success(request, "Sender settings saved.")
    return _back(access)


@require_POST
@app_view(requires=Permission.MANAGE_MESSAGING)
def sms_email_template_save(request: DeveloperRequest, access: AppAccess) -> HttpResponse:
    """Save the form's template, or (the Preview button) render it with the sample context and show it."""
    editing = _posted_template(request)
    if request.POST.get("action") == "preview":
        return _preview(request, access, editing)
    try:
        sms_email.template_save(
            actor=request.user, organization=access.organization, app_pk=access.app.pk,
            channel=editing["channel"], name=editing["name"].strip(),
            values={key: editing[key] for key in ("subject", "text", "html")},
        )  # fmt: skip
    except (NotFoundError, PermissionDeniedError):
        raise
    except TenantsError as exc:
        editing["problem"] = exc.message
        return _page(request, access, editing)
    messages.success(request, f"Saved the {editing['channel']} template {editing['name']}.")
    return _back(access)


def _preview(request: DeveloperRequest, access: AppAccess, editing: dict[str, Any]) -> HttpResponse:
    try:
        sample = json.loads(editing["context"] or "{}")
        if not isinstance(sample, dict):
            raise ValueError
    except ValueError:
        editing["problem"] = 'The sample context must be a JSON object, like {"name": "Ada"}.'
        return _page(request, access, editing)
    try:
        rendered = sms_email.template_preview(
            actor=request.user, organization=access.organization, app_pk=access.app.pk, channel=editing["channel"],
            data={"subject": editing["subject"], "text": editing["text"], "html": editing["html"], "context": sample},
        )  # fmt: skip
    except (NotFoundError, PermissionDeniedError):
        raise
    except TenantsError as exc:
        editing["problem"] = exc.message
    else:
        editing["preview"] = rendered
    return _page(request, access, editing)


@require_POST
@app_view(requires=Permission.MANAGE_MESSAGING)
def sms_email_template_delete(request: DeveloperRequest, access: AppAccess, channel: str, name: str) -> HttpResponse:
    try:
        sms_email.template_delete(
            actor=request.user, organization=access.organization, app_pk=access.app.pk, channel=channel, name=name
        )
    except NotFoundError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Deleted the {channel} template {name}.")
    return _back(access)


@require_POST
@app_view(requires=Permission.MANAGE_END_USER_MFA)
def sms_email_mfa(request: DeveloperRequest, access: AppAccess) -> HttpResponse:
    """Turn the app's multi-factor sign-in on or off (admin), with Parse Server's code options."""
    try:
        settings = end_user_mfa.MfaSettings(
            options=[str(option) for option in request.POST.getlist("options")],
            digits=int(request.POST.get("digits", 6)), period=int(request.POST.get("period", 30)),
            algorithm=str(request.POST.get("algorithm", "SHA1")),
        )  # fmt: skip
        saved = end_user_mfa.end_user_mfa_set(
            actor=request.user, organization=access.organization, app_pk=access.app.pk, settings=settings
        )
    except ValueError:
        messages.error(request, "Digits and period are whole numbers.")
    except (NotFoundError, PermissionDeniedError):
        raise
    except TenantsError as exc:
        messages.error(request, exc.message)
    else:
        state = " and ".join(saved.options) if saved.options else "off"
        messages.success(request, f"Multi-factor sign-in: {state}.")
    return _back(access)
