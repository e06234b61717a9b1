"""Raw events, their hourly and daily rollups, and metered usage.

The data plane only ever inserts into ``analytics_event`` (as ``hangar_dataplane``, under
row-level security, migration 0001); everything else is written by Celery tasks and read
by the control plane.
"""

from __future__ import annotations

from django.db import models

from tenants.models import App


class Event(models.Model):
    """One analytics event as a client sent it (``POST /parse/events/:eventName``)."""

    # No foreign key: the data plane writes events by the thousand in batches, and a deleted app's
    # events are removed by the retention task (hangar.analytics.tasks), not by a cascade in Python.
    app = models.ForeignKey(App, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False)
    name = models.CharField(max_length=128)
    dimensions = models.JSONField(default=dict)
    user_id = models.CharField(max_length=32, blank=True)
    installation_id = models.CharField(max_length=64, blank=True)
    at = models.DateTimeField()  # when it happened (the client's "at", else when it arrived)
    ingested_at = models.DateTimeField()  # when its batch was written: what the rollup follows

    class Meta:
        indexes = [
            models.Index(fields=["app", "at"], name="analytics_event_app_at"),
            models.Index(fields=["ingested_at"], name="analytics_event_ingested"),
        ]

    def __str__(self) -> str:
        return f"{self.name} of app {self.app_id} at {self.at:%Y-%m-%d %H:%M}"


class EventRollup(models.Model):
    """How many events of one name and dimensions an app received in one hour or day."""

    class Period(models.TextChoices):
        HOUR = "hour"
        DAY = "day"

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="+")
    period = models.CharField(max_length=4, choices=Period.choices)
    bucket = models.DateTimeField()  # start of the hour or day, UTC
    name = models.CharField(max_length=128)
    dimensions = models.JSONField(default=dict)
    count = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["app", "period", "bucket", "name", "dimensions"], name="analytics_rollup_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} x{self.count} ({self.period} {self.bucket:%Y-%m-%d %H:00})"


class RollupState(models.Model):
    """Where the rollup task got to: events ingested before ``ingested_before`` are rolled up."""

    name = models.CharField(max_length=32, primary_key=True)
    ingested_before = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} up to {self.ingested_before}"


class UsageRecord(models.Model):
    """One metered quantity of an app for one hour: counted (requests, events) or sampled (bytes, connections)."""

    class Metric(models.TextChoices):
        REQUESTS = "requests", "API requests"
        EVENTS = "events", "Analytics events"
        DATABASE_BYTES = "database_bytes", "Database size"
        FILE_BYTES = "file_bytes", "File storage"
        LIVE_CONNECTIONS = "live_connections", "LiveQuery connections"
        FUNCTION_INVOCATIONS = "function_invocations", "Cloud-code invocations"
        FUNCTION_MS = "function_ms", "Cloud-code run time (ms, wall clock)"
        FUNCTION_CPU_MS = "function_cpu_ms", "Cloud-code CPU time (ms)"
        BUILD_MS = "build_ms", "Build time (ms)"
        MESSAGES_PUSH = "messages_push", "Push notifications sent"
        MESSAGES_SMS = "messages_sms", "SMS sent"
        MESSAGES_EMAIL = "messages_email", "Emails sent"

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="+")
    metric = models.CharField(max_length=32, choices=Metric.choices)
    hour = models.DateTimeField()
    value = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["app", "metric", "hour"], name="analytics_usage_unique")]
        indexes = [models.Index(fields=["metric", "hour"], name="analytics_usage_metric_hour")]

    def __str__(self) -> str:
        return f"{self.metric}={self.value} for app {self.app_id} at {self.hour:%Y-%m-%d %H:00}"


class QuotaWarning(models.Model):
    """An app reached 80% of one of its plan's limits in one period: warned once (email + banner)."""

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="+")
    metric = models.CharField(max_length=32)
    period = models.CharField(max_length=7)  # "2026-12": the month the limit applies to
    used = models.BigIntegerField()
    limit = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["app", "metric", "period"], name="analytics_warning_once")]

    def __str__(self) -> str:
        return f"{self.metric} at {self.used}/{self.limit} for app {self.app_id} in {self.period}"
