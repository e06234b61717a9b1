"""Creating an app and its settings page: keys (reveal, rotate), rename, LiveQuery (classes, live figures), delete."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis
from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dashboard.access import DeveloperRequest, app_view, capabilities, organization_view
from dashboard.forms import AppDeleteForm, LiveQueryClassesForm, NameForm, add_domain_error, first_error
from hangar.analytics.quotas import app_quota_warnings
from hangar.files.models import FileSettings
from hangar.files.selectors import file_usage_get
from hangar.realtime.stats import app_live_stats
from tenants import selectors, services
from tenants.errors import PlanLimitError, ValidationFailedError
from tenants.models import AppKey
from tenants.roles import Permission
from tenants.selectors import AppAccess, OrganizationAccess
from tenants.services import app_policies


@dataclass(frozen=True)
class KeyRow:
    """One line of the keys card; ``value`` is None while the key is hidden."""

    kind: str
    label: str
    value: str | None
    secret: bool = False
    rotatable: bool = True
    fresh: bool = False


def key_rows(keys: dict[str, str | None]) -> list[KeyRow]:
    rows = [KeyRow("application_id", "Application ID", keys["application_id"], rotatable=False)]
    for kind, label in AppKey.Kind.choices:
        rows.append(KeyRow(kind, str(label), keys.get(kind), secret=kind == AppKey.Kind.MASTER))
    return rows


def _live_stats(app_pk: int) -> dict[str, Any] | None:
    """The app's live connections and subscriptions per class, over every server process; None when Redis is out."""
    try:
        return app_live_stats(app_pk)
    except redis.RedisError:
        return None  # the page still answers; the card says the figures are unavailable


def _settings_page(request: DeveloperRequest, access: AppAccess, keys: dict[str, str | None]) -> HttpResponse:
    storage_bytes, storage_files = file_usage_get(app_pk=access.app.pk)
    context = {
        "live": _live_stats(access.app.pk),
        "storage_bytes": storage_bytes,
        "storage_files": storage_files,
        "access": access,
        "app": access.app,
        "can": capabilities(access.role),
        "rows": key_rows(keys),
        "javascript_key": keys.get(AppKey.Kind.JAVASCRIPT),
        "server_url": settings.HANGAR_PUBLIC_URL + settings.HANGAR_PARSE_MOUNT,
        "rename_form": NameForm(initial={"name": access.app.name}),
        "live_query_form": LiveQueryClassesForm(initial={"classes": ", ".join(access.app.live_query_classes or [])}),
        "delete_form": AppDeleteForm(),
        "warnings": app_quota_warnings(access.app),  # the 80% banner (hangar.analytics.quotas)
        "auth_policy": app_policies.auth_policy_get(app=access.app),
        "file_policy": app_policies.file_policy_get(app=access.app),
        "url_modes": FileSettings.UrlMode.choices,
        "plan_rps": access.organization.plan.requests_per_second
        if access.organization.plan
        else settings.HANGAR_DEFAULT_PLAN_RPS,
    }
    return render(request, "dashboard/apps/settings.html", context)


def _key_row_fragment(request: DeveloperRequest, access: AppAccess, row: KeyRow) -> HttpResponse:
    context = {"row": row, "access": access, "app": access.app, "can": capabilities(access.role)}
    return render(request, "dashboard/apps/_key_row.html", context)


@require_http_methods(["GET", "POST"])
@organization_view(requires=Permission.CREATE_APP)
def app_create(request: DeveloperRequest, access: OrganizationAccess) -> HttpResponse:
    form = NameForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            app, _keys = services.app_create(
                actor=request.user, organization=access.organization, name=form.cleaned_data["name"]
            )
        except (ValidationFailedError, PlanLimitError) as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, f"Created {app.name}. Its keys are below.")
            return redirect("dashboard:app_settings", organization_id=access.organization.pk, app_id=app.pk)
    return render(request, "dashboard/apps/create.html", {"access": access, "form": form})


@require_GET
@app_view()
def app_settings(request: DeveloperRequest, access: AppAccess) -> HttpResponse:
    keys = selectors.app_keys_for(developer=request.user, app=access.app)
    return _settings_page(request, access, keys)


@require_POST
@app_view(requires=Permission.VIEW_MASTER_KEY)
def app_master_key_reveal(request: DeveloperRequest, access: AppAccess) -> HttpResponse:
    # The service checks the role again (never trust only one check) and audits the reveal.
    master = services.app_master_key_reveal(actor=request.user, organization=access.organization, app_pk=access.app.pk)
    keys = {**selectors.app_keys_for(developer=request.user, app=access.app), AppKey.Kind.MASTER: master}
    if request.htmx:
        return _key_row_fragment(request, access, KeyRow(AppKey.Kind.MASTER, "Master key", master, secret=True))
    return _settings_page(request, access, keys)


@require_http_methods(["GET", "POST"])
@app_view(requires=Permission.ROTATE_KEY)
def app_key_rotate(request: DeveloperRequest, access: AppAccess, kind: str) -> HttpResponse:
    label = str(AppKey.Kind(kind).label)
    if request.method == "GET":  # the confirmation step when JavaScript (hx-confirm) is off
        return render(request, "dashboard/apps/rotate_confirm.html", {"access": access, "kind": kind, "label": label})
    value = services.app_key_rotate(
        actor=request.user, organization=access.organization, app_pk=access.app.pk, kind=kind
    )
    if request.htmx:
        row = KeyRow(kind, label, value, secret=kind == AppKey.Kind.MASTER, fresh=True)
        return _key_row_fragment(request, access, row)
    messages.success(request, f"Rotated the {label}. The old one no longer works; update your apps.")
    return redirect("dashboard:app_settings", organization_id=access.organization.pk, app_id=access.app.pk)


@require_http_methods(["GET", "POST"])
@app_view(requires=Permission.RENAME_APP)
def app_rename(request: DeveloperRequest, access: AppAccess) -> HttpResponse:
    form = NameForm(request.POST or None, initial={"name": access.app.name})
    if request.method == "POST" and form.is_valid():
        try:
            app = services.app_rename(
                actor=request.user,
                organization=access.organization,
                app_pk=access.app.pk,
                name=form.cleaned_data["name"],
            )
        except ValidationFailedError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, f"Renamed the app to {app.name}.")
            return redirect("dashboard:app_settings", organization_id=access.organization.pk, app_id=app.pk)
    return render(request, "dashboard/apps/rename.html", {"access": access, "app": access.app, "form": form})


@require_POST
@app_view(requires=Permission.RENAME_APP)
def app_live_query(request: DeveloperRequest, access: AppAccess) -> HttpResponse:
    form = LiveQueryClassesForm(request.POST)
    if form.is_valid():
        try:
            services.app_live_query_classes_set(
                actor=request.user, organization=access.organization, app_pk=access.app.pk,
                class_names=form.class_names(),
            )  # fmt: skip
        except ValidationFailedError as exc:
            add_domain_error(form, exc)
    if form.errors:
        messages.error(request, first_error(form))
    else:
        messages.success(request, "Saved the LiveQuery classes.")
    return redirect("dashboard:app_settings", organization_id=access.organization.pk, app_id=access.app.pk)


@require_POST
@app_view(requires=Permission.RENAME_APP)
def app_client_class_creation(request: DeveloperRequest, access: AppAccess) -> HttpResponse:
    allowed = request.POST.get("allow_client_class_creation") == "on"
    services.app_client_class_creation_set(
        actor=request.user, organization=access.organization, app_pk=access.app.pk, allowed=allowed
    )
    if allowed:
        messages.success(request, "Clients may now create classes by saving to them.")
    else:
        messages.success(request, "Only the master key and this dashboard create classes now.")
    return redirect("dashboard:app_settings", organization_id=access.organization.pk, app_id=access.app.pk)


@require_http_methods(["GET", "POST"])
@app_view(requires=Permission.DELETE_APP)
def app_delete(request: DeveloperRequest, access: AppAccess) -> HttpResponse:
    form = AppDeleteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.app_delete(
                actor=request.user,
                organization=access.organization,
                app_pk=access.app.pk,
                confirm_name=form.cleaned_data["confirm_name"],
            )
        except ValidationFailedError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, f"Deleted {access.app.name}. Its data is being removed.")
            return redirect("dashboard:organization_detail", organization_id=access.organization.pk)
    return render(request, "dashboard/apps/delete.html", {"access": access, "app": access.app, "form": form})
