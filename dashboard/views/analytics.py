"""An app's Analytics and Usage pages, and the staff-only usage of every tenant.

Thin views: the member's access to the app is resolved by ``app_view`` (another
organization's app is a 404), then the analytics selectors are called with that app.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from dashboard.access import DeveloperRequest, app_view, capabilities
from dashboard.charts import bar_chart, bucket_label
from hangar.analytics import selectors
from hangar.analytics.quotas import app_usage
from tenants.selectors import AppAccess

RANGES = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30), "90d": timedelta(days=90)}


def _range(request: DeveloperRequest) -> tuple[str, datetime, datetime]:
    chosen = request.GET.get("range", "7d")
    if chosen not in RANGES:
        chosen = "7d"
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return chosen, end - RANGES[chosen], end


def _series(app_pk: int, metric: str, start: datetime, end: datetime, period: str) -> list[tuple[str, int]]:
    series = selectors.usage_series(app_pk=app_pk, metric=metric, start=start, end=end, period=period)
    return [(bucket_label(bucket, period), value) for bucket, value in series]


def _messages(app_pk: int, start: datetime, end: datetime, period: str) -> list[tuple[str, int]]:
    totals: dict[datetime, int] = {}
    for channel in ("push", "sms", "email"):
        series = selectors.usage_series(
            app_pk=app_pk, metric=f"messages_{channel}", start=start, end=end, period=period
        )
        for bucket, value in series:
            totals[bucket] = totals.get(bucket, 0) + value
    return [(bucket_label(bucket, period), value) for bucket, value in sorted(totals.items())]


def _funnel(request: DeveloperRequest, app_pk: int, start: datetime, end: datetime) -> dict[str, Any]:
    steps = [step.strip() for step in request.GET.get("funnel", "").split(",") if step.strip()]
    if not steps:
        return {"steps": [], "error": None, "text": ""}
    try:
        hours = float(request.GET.get("window_hours", "24"))
        result = selectors.funnel(app_pk=app_pk, steps=steps, start=start, end=end, window=timedelta(hours=hours))
    except (ValueError, selectors.AnalyticsQueryError) as exc:
        return {"steps": [], "error": str(exc) or "Invalid funnel.", "text": ", ".join(steps)}
    first = result[0].actors or 1
    rows = [{"name": s.name, "actors": s.actors, "percent": round(100 * s.actors / first)} for s in result]
    return {"steps": rows, "error": None, "text": ", ".join(steps)}


@require_GET
@app_view()
def analytics_page(request: DeveloperRequest, access: AppAccess) -> HttpResponse:
    app_pk = access.app.pk
    chosen, start, end = _range(request)
    event = request.GET.get("event") or None
    period, over_time = selectors.event_counts_over_time(app_pk=app_pk, start=start, end=end, name=event)
    names = selectors.event_names(app_pk=app_pk, start=start, end=end)
    dimension = request.GET.get("dimension", "").strip()
    by_dimension = (
        selectors.event_counts_by_dimension(app_pk=app_pk, name=event, dimension=dimension, start=start, end=end)
        if event and dimension
        else []
    )
    active = selectors.daily_active_users(app_pk=app_pk, start=start, end=end)
    context = {
        "access": access, "app": access.app, "can": capabilities(access.role), "tab": "analytics",
        "ranges": list(RANGES), "range": chosen, "event": event or "", "dimension": dimension, "names": names,
        "events_chart": bar_chart(
            f"{event or 'All events'} per {period}",
            [(bucket_label(bucket, period), count) for bucket, count in over_time],
        ),
        "requests_chart": bar_chart(f"API requests per {period}", _series(app_pk, "requests", start, end, period)),
        "active_chart": bar_chart(
            "Active users and installations per day", [(bucket_label(day, "day"), n) for day, n in active]
        ),
        "storage_chart": bar_chart(
            f"File storage (bytes) per {period}", _series(app_pk, "file_bytes", start, end, period)
        ),
        "invocations_chart": bar_chart(
            f"Cloud-code invocations per {period}", _series(app_pk, "function_invocations", start, end, period)
        ),
        "messages_chart": bar_chart(
            f"Messages sent (push, SMS, email) per {period}", _messages(app_pk, start, end, period)
        ),
        "by_dimension": bar_chart(
            f"{event} by {dimension}", [(value if value is not None else "(none)", n) for value, n in by_dimension]
        ),
        "unique": selectors.unique_actors(app_pk=app_pk, start=start, end=end),
        "funnel": _funnel(request, app_pk, start, end),
        "window_hours": request.GET.get("window_hours", "24"),
        "cohorts": selectors.retention_cohorts(app_pk=app_pk, weeks=8),
        "warnings": [line for line in app_usage(access.app) if line.warning],
    }  # fmt: skip
    return render(request, "dashboard/apps/analytics.html", context)


@require_GET
@app_view()
def usage_page(request: DeveloperRequest, access: AppAccess) -> HttpResponse:
    lines = app_usage(access.app)
    context = {
        "access": access, "app": access.app, "can": capabilities(access.role), "tab": "usage",
        "lines": lines, "warnings": [line for line in lines if line.warning], "plan": access.organization.plan,
    }  # fmt: skip
    return render(request, "dashboard/apps/usage.html", context)


@require_GET
def staff_usage_page(request: DeveloperRequest) -> HttpResponse:
    """Every tenant's usage this month, sortable; staff only (anyone else: 404, the page does not exist)."""
    if not (request.user.is_authenticated and request.user.is_staff):
        raise Http404
    sort = request.GET.get("sort", "requests")
    if sort.lstrip("-") not in selectors.SORTABLE_USAGE:
        sort = "requests"
    now = datetime.now(UTC)
    since = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if request.GET.get("group") == "organization":
        organizations = selectors.usage_by_organization(since=since, sort="requests" if sort == "app" else sort)
        return render(
            request, "dashboard/staff_usage_organizations.html",
            {"rows": organizations, "since": since, "columns": [c for c in selectors.SORTABLE_USAGE if c != "app"]},
        )  # fmt: skip
    rows = selectors.usage_across_tenants(since=since, sort=sort)
    return render(
        request, "dashboard/staff_usage.html",
        {"rows": rows, "sort": sort, "columns": selectors.SORTABLE_USAGE, "since": since},
    )  # fmt: skip
