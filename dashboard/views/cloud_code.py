"""An app's cloud-code page: versions (upload, activate, rollback), variables, running a function, the log tail.

The page works with plain forms; dashboard/cloud_code.js adds drag and drop of a zip or
a folder, running a function in place and the live log tail, all through the
management API (the same session, the same role checks and audit).
"""

from __future__ import annotations

import json
from typing import Any

import redis
from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from dashboard.access import DeveloperRequest, app_view, capabilities
from tenants import selectors
from tenants.errors import NotFoundError, PermissionDeniedError, TenantsError
from tenants.roles import Permission
from tenants.selectors import AppAccess
from tenants.services import cloud_code

RECENT_LOGS = 30


def _recent_logs(request: DeveloperRequest, access: AppAccess) -> list[dict[str, Any]] | None:
    """The newest records for the first paint; None when Redis does not answer (the tail retries)."""
    try:
        return selectors.cloud_log_list(
            developer=request.user, organization=access.organization, app_pk=access.app.pk, limit=RECENT_LOGS
        )
    except (redis.RedisError, OSError):
        return None


def _page(request: DeveloperRequest, access: AppAccess, run: dict[str, Any] | None = None) -> HttpResponse:
    developer, organization, app = request.user, access.organization, access.app
    versions = selectors.cloud_version_list(developer=developer, organization=organization, app_pk=app.pk)
    logs = _recent_logs(request, access)
    api = reverse("tenants:cloud-versions", args=[organization.pk, app.pk]).removesuffix("/versions")
    active = next((version for version in versions if version.active), None)
    context = {
        "access": access,
        "app": app,
        "can": capabilities(access.role),
        "tab": "cloud_code",
        "versions": versions,
        "active": active,
        "functions": [f["name"] for f in (active.handlers.get("functions", []) if active else [])],
        "variables": selectors.cloud_variable_list(developer=developer, organization=organization, app_pk=app.pk),
        "logs": logs,
        "log_cursor": max((float(r.get("at") or 0) for r in logs or []), default=0),
        "run": run,
        "api_base": api,
        "max_bundle_bytes": settings.HANGAR_CLOUD_MAX_BUNDLE_BYTES,
    }
    return render(request, "dashboard/apps/cloud_code.html", context)


def _back(access: AppAccess) -> HttpResponse:
    return redirect("dashboard:cloud_code", organization_id=access.organization.pk, app_id=access.app.pk)


@require_GET
@app_view(requires=Permission.VIEW_CLOUD_CODE)
def cloud_code_page(request: DeveloperRequest, access: AppAccess) -> HttpResponse:
    return _page(request, access)


@require_POST
@app_view(requires=Permission.MANAGE_CLOUD_CODE)
def cloud_code_upload(request: DeveloperRequest, access: AppAccess) -> HttpResponse:
    """The no-JavaScript upload: one zip from a file input."""
    upload = request.FILES.get("bundle")
    try:
        if upload is None:
            raise TenantsError("Choose a zip file with main.py at its root.")
        if upload.size is not None and upload.size > settings.HANGAR_CLOUD_MAX_BUNDLE_BYTES:
            raise TenantsError(f"The upload is larger than {settings.HANGAR_CLOUD_MAX_BUNDLE_BYTES} bytes.")
        bundle = cloud_code.bundle_from_upload(archive=upload.read())
        version = cloud_code.cloud_version_deploy(
            actor=request.user, organization=access.organization, app_pk=access.app.pk, bundle=bundle,
            note=str(request.POST.get("note", ""))[:200],
        )  # fmt: skip
    except (NotFoundError, PermissionDeniedError):
        raise
    except TenantsError as exc:
        messages.error(request, f"Upload refused: {exc.message}")
    else:
        messages.success(request, f"Deployed version {version.number}; it is running now.")
    return _back(access)


@require_POST
@app_view(requires=Permission.MANAGE_CLOUD_CODE)
def cloud_code_activate(request: DeveloperRequest, access: AppAccess, number: int) -> HttpResponse:
    cloud_code.cloud_version_activate(
        actor=request.user, organization=access.organization, app_pk=access.app.pk, number=number
    )
    messages.success(request, f"Version {number} is running now.")
    return _back(access)


@require_POST
@app_view(requires=Permission.MANAGE_CLOUD_VARIABLES)
def cloud_variable_set(request: DeveloperRequest, access: AppAccess) -> HttpResponse:
    name = str(request.POST.get("name", "")).strip()
    try:
        cloud_code.cloud_variable_set(
            actor=request.user, organization=access.organization, app_pk=access.app.pk, name=name,
            value=str(request.POST.get("value", "")), secret=request.POST.get("secret") == "on",
        )  # fmt: skip
    except (NotFoundError, PermissionDeniedError):
        raise
    except TenantsError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Saved {name}. Workers restart with it on the next call.")
    return _back(access)


@require_POST
@app_view(requires=Permission.MANAGE_CLOUD_VARIABLES)
def cloud_variable_delete(request: DeveloperRequest, access: AppAccess, name: str) -> HttpResponse:
    try:
        cloud_code.cloud_variable_delete(
            actor=request.user, organization=access.organization, app_pk=access.app.pk, name=name
        )
    except NotFoundError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Deleted {name}.")
    return _back(access)


@require_POST
@app_view(requires=Permission.MANAGE_CLOUD_CODE)
def cloud_function_run(request: DeveloperRequest, access: AppAccess) -> HttpResponse:
    """The no-JavaScript run form: the page again, with the outcome under the form."""
    name = str(request.POST.get("name", "")).strip()
    text = str(request.POST.get("params", "")).strip() or "{}"
    run: dict[str, Any] = {"name": name, "params": text}
    try:
        params = json.loads(text)
        if not isinstance(params, dict):
            raise ValueError
    except ValueError:
        run["problem"] = 'Params must be a JSON object, like {"name": "Ada"}.'
        return _page(request, access, run)
    try:
        outcome = cloud_code.cloud_function_run(
            actor=request.user, organization=access.organization, app_pk=access.app.pk, name=name, params=params
        )
    except (NotFoundError, PermissionDeniedError):
        raise
    except TenantsError as exc:
        run["problem"] = exc.message
    else:
        run["outcome"] = json.dumps(outcome, indent=2, ensure_ascii=False)
        run["failed"] = "error" in outcome
    return _page(request, access, run)
