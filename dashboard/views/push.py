"""An app's push console: compose and send, the audience builder with its live count, saved audiences, campaigns.

Every form works without JavaScript (the count and "add a row" are submit buttons that
show the page again); with htmx the count follows the builder as one types and a
running campaign's counts refresh themselves. A send is checked and recorded exactly as
``POST /parse/push`` (tenants.services.push), with source ``webui``.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from dashboard.access import DeveloperRequest, app_view, capabilities
from hangar.messaging import console
from hangar.messaging import selectors as campaigns
from hangar.parse_errors import ParseError
from tenants import push_audiences, push_console
from tenants.errors import NotFoundError, PermissionDeniedError, TenantsError
from tenants.roles import Permission
from tenants.selectors import AppAccess
from tenants.services import push as push_services

EMPTY_ROWS = 3
CAMPAIGNS_LISTED = 50
POLL_SECONDS = 2
# A scheduled campaign changes only when its time comes: its page looks again now and then.
SCHEDULED_POLL_SECONDS = 30
RETRY_AFTER_SECONDS = 5
# A campaign in these states may still change: its page polls for new counts.
MOVING = frozenset({"pending", "running"})


def _builder_rows(form: console.ConsoleForm) -> list[console.WhereRow]:
    """The rows to show: the filled ones, then empty ones (at least one, and as many as were asked for)."""
    filled = form.filled_rows()
    empty = max(EMPTY_ROWS - len(filled), len(form.rows) - len(filled), 1)
    return filled + [console.WhereRow("", "eq", "")] * max(min(empty, console.MAX_ROWS - len(filled)), 0)


def _campaign_context(access: AppAccess) -> dict[str, Any]:
    rows = campaigns.push_campaign_list(app_pk=access.app.pk, limit=CAMPAIGNS_LISTED)
    return {"campaigns": rows, **_polling({row.status for row in rows})}


def _polling(statuses: set[str]) -> dict[str, Any]:
    """Whether (and how often) a page showing campaigns in these states refreshes itself."""
    if statuses & MOVING:
        return {"polling": True, "poll_seconds": POLL_SECONDS}
    if "scheduled" in statuses:
        return {"polling": True, "poll_seconds": SCHEDULED_POLL_SECONDS}
    return {"polling": False, "poll_seconds": POLL_SECONDS}


def _page(
    request: DeveloperRequest,
    access: AppAccess,
    *,
    form: console.ConsoleForm | None = None,
    problem: console.ConsoleInputError | None = None,
    count: int | None = None,
    reachable: int | None = None,
    count_problem: console.ConsoleInputError | None = None,
    status: int = 200,
) -> HttpResponse:
    can = capabilities(access.role)
    form = form or console.ConsoleForm()
    form.once = form.once or secrets.token_urlsafe(16)
    context: dict[str, Any] = {
        "access": access, "app": access.app, "can": can, "tab": "push",
        "audiences": _audiences(access),
        "form": replace(form, rows=_builder_rows(form)), "problem": problem, "count": count, "reachable": reachable,
        "count_problem": count_problem,
        "now_utc": datetime.now(UTC),
        **_campaign_context(access),
    }  # fmt: skip
    if can[Permission.SEND_PUSH.value]:
        context["fields"] = console.builder_fields(push_console.installation_field_types(app=access.app))
        context["operators"] = console.OPERATORS
    return render(request, "dashboard/apps/push.html", context, status=status)


def _audiences(access: AppAccess) -> list[push_console.AudienceRow] | None:
    """The saved audiences; None when the app's datastore does not answer (the rest of the page still works)."""
    try:
        return push_console.push_audience_list(app=access.app)
    except ParseError:
        return None


def _schema(access: AppAccess) -> dict[str, str]:
    return push_console.installation_field_types(app=access.app)


@require_GET
@app_view(requires=Permission.VIEW_PUSH)
def push_console_page(request: DeveloperRequest, access: AppAccess) -> HttpResponse:
    return _page(request, access)


@require_POST
@app_view(requires=Permission.SEND_PUSH)
def push_send(request: DeveloperRequest, access: AppAccess) -> HttpResponse:
    form = console.ConsoleForm.from_post(request.POST)
    if request.POST.get("action") == "add_row":  # the no-JavaScript builder: one more empty row
        form.rows = [*form.rows, console.WhereRow("", "eq", "")]
        return _page(request, access, form=form)
    try:
        body = console.push_body(form, _schema(access), now=datetime.now(UTC))
        campaign_id = push_services.push_send(
            actor=request.user, organization=access.organization, app_pk=access.app.pk, body=body, once=form.once
        )
    except console.ConsoleInputError as exc:
        return _page(request, access, form=form, problem=exc, status=400)
    except (NotFoundError, PermissionDeniedError):
        raise
    except TenantsError as exc:
        response = _page(request, access, form=form, problem=console.ConsoleInputError(exc.message), status=exc.status)
        if exc.status == 503:
            response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    messages.success(request, "Push recorded; its status follows below.")
    return redirect("dashboard:push_campaign", organization_id=access.organization.pk, app_id=access.app.pk,
                    campaign_id=campaign_id)  # fmt: skip


def _count_of(request: DeveloperRequest, access: AppAccess, form: console.ConsoleForm) -> tuple[int, int | None]:
    """(installations the target matches, of them those with a device token: the ones a send reaches)."""
    where = console.counted_where(form, _schema(access))
    developer, organization, app_pk = request.user, access.organization, access.app.pk
    if where is None:
        count = push_audiences.push_audience_count(
            developer=developer, organization=organization, app_pk=app_pk, audience_id=form.audience_id
        )
        return count, None
    count = push_audiences.push_query_count(developer=developer, organization=organization, app_pk=app_pk, where=where)
    # The engine skips installations without a token (nothing to send to): say how many are left.
    with_token = {"$and": [where, {"deviceToken": {"$exists": True}}]} if where else {"deviceToken": {"$exists": True}}
    reachable = push_audiences.push_query_count(
        developer=developer, organization=organization, app_pk=app_pk, where=with_token
    )
    return count, reachable


@require_POST
@app_view(requires=Permission.SEND_PUSH)
def push_count(request: DeveloperRequest, access: AppAccess) -> HttpResponse:
    """The live count of the form's target; a fragment for htmx, the whole page for a plain form."""
    form = console.ConsoleForm.from_post(request.POST)
    problem: console.ConsoleInputError | None = None
    count: int | None = None
    reachable: int | None = None
    try:
        count, reachable = _count_of(request, access, form)
    except console.ConsoleInputError as exc:
        problem = exc
    except NotFoundError as exc:
        if form.target != "audience":
            raise
        problem = console.ConsoleInputError(exc.message, field="audience_id")
    except PermissionDeniedError:
        raise
    except TenantsError as exc:
        problem = console.ConsoleInputError(exc.message, field="where")
    if request.htmx:
        context = {"count": count, "reachable": reachable, "problem": problem}
        return render(request, "dashboard/apps/_push_count.html", context)
    return _page(
        request, access, form=form, count=count, reachable=reachable, count_problem=problem,
        status=400 if problem else 200,
    )  # fmt: skip


@require_GET
@app_view(requires=Permission.VIEW_PUSH)
def push_audience_count(request: DeveloperRequest, access: AppAccess, audience_id: str) -> HttpResponse:
    try:
        count = push_audiences.push_audience_count(
            developer=request.user, organization=access.organization, app_pk=access.app.pk, audience_id=audience_id
        )
    except (NotFoundError, PermissionDeniedError):
        raise
    except TenantsError as exc:  # an audience saved through the API with a query that no longer runs
        problem = console.ConsoleInputError(exc.message)
        return render(request, "dashboard/apps/_push_count.html", {"count": None, "problem": problem})
    return render(request, "dashboard/apps/_push_count.html", {"count": count, "problem": None})


@require_POST
@app_view(requires=Permission.SEND_PUSH)
def push_audience_create(request: DeveloperRequest, access: AppAccess) -> HttpResponse:
    """Save the builder's query (or channels) under a name."""
    form = console.ConsoleForm.from_post(request.POST)
    try:
        where = console.counted_where(form, _schema(access))
        if where is None:
            raise console.ConsoleInputError("This is a saved audience already.", field="target")
        push_services.push_audience_create(
            actor=request.user, organization=access.organization, app_pk=access.app.pk,
            name=form.audience_name, where=where,
        )  # fmt: skip
    except console.ConsoleInputError as exc:
        return _page(request, access, form=form, problem=exc, status=400)
    except (NotFoundError, PermissionDeniedError):
        raise
    except TenantsError as exc:
        return _page(request, access, form=form, problem=console.ConsoleInputError(exc.message), status=400)
    messages.success(request, f"Saved the audience {form.audience_name}.")
    return redirect(reverse("dashboard:push", args=[access.organization.pk, access.app.pk]) + "#audiences")


@require_POST
@app_view(requires=Permission.SEND_PUSH)
def push_audience_delete(request: DeveloperRequest, access: AppAccess, audience_id: str) -> HttpResponse:
    push_services.push_audience_delete(
        actor=request.user, organization=access.organization, app_pk=access.app.pk, audience_id=audience_id
    )
    messages.success(request, "Deleted the audience.")
    return redirect(reverse("dashboard:push", args=[access.organization.pk, access.app.pk]) + "#audiences")


@require_GET
@app_view(requires=Permission.VIEW_PUSH)
def push_campaign_list(request: DeveloperRequest, access: AppAccess) -> HttpResponse:
    """The campaigns table: what the console's list polls while a campaign is moving."""
    if not request.htmx:
        return redirect(reverse("dashboard:push", args=[access.organization.pk, access.app.pk]) + "#campaigns")
    context = {"access": access, "app": access.app, **_campaign_context(access)}
    return render(request, "dashboard/apps/_push_campaigns.html", context)


@require_GET
@app_view(requires=Permission.VIEW_PUSH)
def push_campaign_detail(request: DeveloperRequest, access: AppAccess, campaign_id: str) -> HttpResponse:
    row = campaigns.push_campaign_get(app_pk=access.app.pk, campaign_id=campaign_id)
    if row is None:
        raise NotFoundError("Campaign not found.")
    context = {
        "access": access, "app": access.app, "can": capabilities(access.role), "tab": "push", "campaign": row,
        **_polling({row.status}),
        "per_type": _side_by_side(row.sent_per_type, row.failed_per_type, key=str),
        "per_offset": _side_by_side(row.sent_per_utc_offset, row.failed_per_utc_offset, key=_offset_key),
        "expiry": datetime.fromtimestamp(row.expiry / 1000, UTC) if row.expiry else None,
        "query_json": json.dumps(row.query, indent=2, ensure_ascii=False),
        "payload_json": json.dumps(row.payload, indent=2, ensure_ascii=False),
    }  # fmt: skip
    template = "dashboard/apps/_push_campaign_status.html" if request.htmx else "dashboard/apps/push_campaign.html"
    return render(request, template, context)


def _side_by_side(
    sent: dict[str, int], failed: dict[str, int], *, key: Callable[[str], Any]
) -> list[tuple[str, int, int]]:
    """(name, sent, failed) rows of two per-name counts."""
    return [(name, sent.get(name, 0), failed.get(name, 0)) for name in sorted(set(sent) | set(failed), key=key)]


def _offset_key(offset: str) -> float:
    try:
        return float(offset)
    except ValueError:
        return 0.0
