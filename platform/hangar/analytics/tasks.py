"""Celery tasks of analytics and metering: the rollup, raw-event partitions and retention, usage collection.

Each is idempotent (recomputes absolute numbers), so a retry or an overlapping run of beat
changes nothing twice.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

log = logging.getLogger(__name__)


@shared_task(name="analytics.rollup", time_limit=600, ignore_result=True)
def rollup_task() -> int:
    """Recompute the hourly and daily rollups of the buckets that received events."""
    from hangar.analytics.rollups import events_rollup

    touched = events_rollup()
    log.info("analytics rollup: %d app-hours recomputed", touched)
    return touched


@shared_task(name="analytics.retention", time_limit=1800, ignore_result=True)
def retention_task() -> int:
    """Create the coming days' event partitions; drop the days past every retention, delete older rows per plan."""
    from hangar.analytics.rollups import events_retention

    return events_retention(default_days=settings.HANGAR_ANALYTICS_RETENTION_DAYS)


@shared_task(name="analytics.usage_collect", time_limit=600, ignore_result=True)
def usage_collect_task() -> int:
    """Copy the metered counters into UsageRecord rows, sample sizes, and warn apps at 80% of a limit."""
    from hangar.analytics.metering import usage_collect
    from hangar.analytics.quotas import quota_warnings_send

    collected = usage_collect()
    quota_warnings_send()
    return collected
