"""Backups on a schedule: set or clear an app's schedule, and the tick that starts due backups and prunes old ones.

The tick (Celery beat, every minute) claims due schedules with ``FOR UPDATE SKIP LOCKED``
and moves each one's next run forward in the same transaction, so two ticks, or a tick
repeated after a crash, never start the same backup twice.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import partial

from django.db import transaction
from django.utils import timezone

from hangar.backups.models import Backup, BackupSchedule
from hangar.backups.services import backup_delete, backup_record
from hangar.backups.tasks import backup_run_task
from tenants.models import App

log = logging.getLogger(__name__)
MAX_EVERY_HOURS = 24 * 30
MAX_KEEP = 100


def backup_schedule_set(
    *, app: App, every_hours: int, keep: int, include_sessions: bool, author: str
) -> BackupSchedule:
    """Back the app up every ``every_hours`` from now on (the first one at the next tick), keeping ``keep``."""
    if not 1 <= every_hours <= MAX_EVERY_HOURS or not 1 <= keep <= MAX_KEEP:
        raise ValueError(f"every_hours must be 1 to {MAX_EVERY_HOURS} and keep 1 to {MAX_KEEP}")
    schedule, _ = BackupSchedule.objects.update_or_create(
        app=app,
        defaults={"every_hours": every_hours, "keep": keep, "include_sessions": include_sessions,
                  "next_run_at": timezone.now(), "created_by": author},
    )  # fmt: skip
    return schedule


def backup_schedule_clear(*, app: App) -> bool:
    deleted, _ = BackupSchedule.objects.filter(app=app).delete()
    return bool(deleted)


def _prune(app_id: int, keep: int) -> int:
    """Delete the app's scheduled backups beyond the newest ``keep`` that are done or failed."""
    old = Backup.objects.filter(app_id=app_id, scheduled=True).exclude(status=Backup.Status.RUNNING)
    removed = 0
    for backup in old.order_by("-created_at", "-id")[keep:]:
        backup_delete(backup=backup)
        removed += 1
    return removed


def backup_schedules_tick(*, now: datetime | None = None) -> list[str]:
    """Start every due scheduled backup; returns their ids."""
    now = now or timezone.now()
    started: list[tuple[int, str]] = []
    with transaction.atomic():
        due = (
            BackupSchedule.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("app")
            .filter(next_run_at__lte=now, app__status=App.Status.ACTIVE)
        )
        for schedule in due:
            backup = backup_record(
                app=schedule.app, include_sessions=schedule.include_sessions, author="schedule", scheduled=True
            )
            # From the due time, not from now: a late tick does not drift the schedule.
            next_run = schedule.next_run_at + timedelta(hours=schedule.every_hours)
            schedule.next_run_at = next_run if next_run > now else now + timedelta(hours=schedule.every_hours)
            schedule.save(update_fields=["next_run_at", "updated_at"])
            started.append((backup.pk, backup.public_id))
        for backup_id, _ in started:
            transaction.on_commit(partial(backup_run_task.delay, backup_id=backup_id))
    for app_id, keep in BackupSchedule.objects.values_list("app_id", "keep"):
        try:
            _prune(app_id, keep)
        except Exception:  # a storage outage leaves old archives for the next tick
            log.exception("could not prune the scheduled backups of app %s", app_id)
    return [public_id for _, public_id in started]
