"""An app's plan limits against its usage, and the warning sent once when a limit is 80% used.

Enforcement happens where each limit is crossed: requests per second and per month at
admission (``hangar.admission.registry``, 429 with ``Retry-After``), cloud-code invocations
per month before each one starts (``hangar.analytics.invocation_quota``), file storage in the
files service (code 130), LiveQuery connections in the realtime hub. This module reports
and warns; it refuses nothing itself.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import redis
from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Max, Sum

from hangar.analytics.models import QuotaWarning, UsageRecord
from hangar.analytics.usage_keys import invocations_month_key, usage_month_key
from hangar.files.models import FileSettings
from tenants.models import App, Membership
from tenants.roles import Role

log = logging.getLogger(__name__)
WARN_AT = 0.8


@dataclass(frozen=True)
class UsageLine:
    """One metered quantity of an app this month, with its plan's limit (0: unlimited)."""

    metric: str
    label: str
    used: int
    limit: int
    unit: str  # "requests", "bytes", "connections", "events"

    @property
    def fraction(self) -> float | None:
        return self.used / self.limit if self.limit else None

    @property
    def warning(self) -> bool:
        return bool(self.limit) and self.used >= WARN_AT * self.limit

    @property
    def percent(self) -> int | None:
        return None if self.fraction is None else int(self.fraction * 100)


def _month_start(now: datetime) -> datetime:
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _counter(key: str) -> int | None:
    try:
        client = redis.Redis.from_url(str(settings.REDIS_URL), socket_timeout=2, socket_connect_timeout=2)
        try:
            value = client.get(key)
        finally:
            client.close()
    except redis.RedisError:
        log.warning("Redis unavailable: usage read from the collected records instead")
        return None
    return int(value) if value is not None else None  # type: ignore[arg-type]


def _month_total(app_pk: int, metric: str, now: datetime) -> int:
    total = UsageRecord.objects.filter(app_id=app_pk, metric=metric, hour__gte=_month_start(now)).aggregate(
        total=Sum("value")
    )["total"]
    return int(total or 0)


def _requests_this_month(app_pk: int, now: datetime) -> int:
    """The admission counter itself (exact and current); the collected hours if Redis does not answer."""
    counted = _counter(usage_month_key(app_pk, now.strftime("%Y%m")))
    return counted if counted is not None else _month_total(app_pk, "requests", now)


def _invocations_this_month(app_pk: int, now: datetime, limited: bool) -> int:
    """The quota's own counter when the plan limits invocations (exact); else the metered hours."""
    counted = _counter(invocations_month_key(app_pk, now.timestamp())) if limited else None
    return counted if counted is not None else _month_total(app_pk, "function_invocations", now)


def _latest(app_pk: int, metric: str) -> int:
    row = UsageRecord.objects.filter(app_id=app_pk, metric=metric).order_by("-hour").values("value").first()
    return int(row["value"]) if row else 0


def _peak_this_month(app_pk: int, metric: str, now: datetime) -> int:
    peak = UsageRecord.objects.filter(app_id=app_pk, metric=metric, hour__gte=_month_start(now)).aggregate(
        peak=Max("value")
    )["peak"]
    return int(peak or 0)


def app_usage(app: App, *, now: datetime | None = None) -> list[UsageLine]:
    """This month's usage of the app against its organization's plan (apps without a plan: the defaults)."""
    now = now or datetime.now(UTC)
    plan = app.organization.plan
    monthly = plan.monthly_requests if plan else settings.HANGAR_DEFAULT_PLAN_MONTHLY_REQUESTS
    storage = plan.storage_quota_bytes if plan else settings.HANGAR_FILES_DEFAULT_QUOTA_BYTES
    own = FileSettings.objects.filter(app_id=app.pk).values_list("storage_quota_bytes", flat=True).first()
    if own is not None:  # the app's own quota (docs/files.md) wins over the plan's
        storage = own
    connections = plan.max_live_connections if plan else settings.HANGAR_DEFAULT_PLAN_LIVE_CONNECTIONS
    invocations = plan.monthly_function_invocations if plan else 0
    events = UsageRecord.objects.filter(app_id=app.pk, metric="events", hour__gte=_month_start(now)).aggregate(
        total=Sum("value")
    )["total"]
    return [
        UsageLine("requests", "API requests this month", _requests_this_month(app.pk, now), int(monthly), "requests"),
        UsageLine("file_bytes", "File storage", _latest(app.pk, "file_bytes"), int(storage), "bytes"),
        UsageLine("database_bytes", "Database size", _latest(app.pk, "database_bytes"), 0, "bytes"),
        UsageLine(
            "live_connections",
            "LiveQuery connections (peak this month)",
            _peak_this_month(app.pk, "live_connections", now),
            int(connections),
            "connections",
        ),
        UsageLine("events", "Analytics events this month", int(events or 0), 0, "events"),
        UsageLine(
            "function_invocations",
            "Cloud-code invocations this month",
            _invocations_this_month(app.pk, now, bool(invocations)),
            int(invocations),
            "invocations",
        ),
        UsageLine(
            "function_ms", "Cloud-code run time this month (ms)", _month_total(app.pk, "function_ms", now), 0, "ms"
        ),
        UsageLine(
            "function_cpu_seconds",
            "Cloud-code CPU time this month (s)",
            _month_total(app.pk, "function_cpu_ms", now) // 1000,
            0,
            "CPU seconds",
        ),
        UsageLine(
            "build_minutes",
            "Build time this month (min)",
            _month_total(app.pk, "build_ms", now) // 60_000,
            0,
            "minutes",
        ),
        *(
            UsageLine(
                f"messages_{channel}",
                f"{label} sent this month",
                _month_total(app.pk, f"messages_{channel}", now),
                0,
                "messages",
            )
            for channel, label in (("push", "Push notifications"), ("sms", "SMS"), ("email", "Emails"))
        ),
    ]


def app_quota_warnings(app: App, *, now: datetime | None = None) -> list[UsageLine]:
    """The limits the app has used 80% of or more (the dashboard's banner)."""
    return [line for line in app_usage(app, now=now) if line.warning]


def _recipients(app: App) -> list[str]:
    return list(
        Membership.objects.filter(
            organization_id=app.organization_id, role__in=[Role.OWNER.value, Role.ADMIN.value]
        ).values_list("developer__email", flat=True)
    )


def _warn(app: App, line: UsageLine, period: str) -> bool:
    """Record the warning and mail the organization's owners and admins; False if already warned this period."""
    try:
        with transaction.atomic():
            QuotaWarning.objects.create(app=app, metric=line.metric, period=period, used=line.used, limit=line.limit)
    except IntegrityError:
        return False
    send_mail(
        subject=f"[Hangar] {app.name}: {line.percent}% of its {line.label.lower()} limit used",
        message=(
            f"The app {app.name} ({app.application_id}) has used {line.used} of the {line.limit} {line.unit} "
            f"its plan allows ({line.percent}%). Past the limit, requests are refused until the limit resets "
            "or the plan changes. See the app's Usage page in the dashboard."
        ),
        from_email=None,
        recipient_list=_recipients(app),
        fail_silently=True,  # the warning stays recorded (and on the dashboard) even if mail is down
    )
    return True


def quota_warnings_send(*, now: datetime | None = None) -> int:
    """Warn, once per app, limit and month, every app at 80% or more of a limit; returns the warnings sent."""
    now = now or datetime.now(UTC)
    period = now.strftime("%Y-%m")
    sent = 0
    for app in App.objects.filter(status=App.Status.ACTIVE).select_related("organization__plan"):
        for line in app_quota_warnings(app, now=now):
            sent += _warn(app, line, period)
    return sent
