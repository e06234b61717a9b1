"""Celery task of backups: write one backup's archive."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="backups.backup_run", time_limit=6 * 60 * 60, ignore_result=True)
def backup_run_task(*, backup_id: int) -> None:
    """Write the archive of a recorded backup (idempotent: hangar.backups.services.backup_run)."""
    from hangar.backups.services import backup_run

    backup_run(backup_id=backup_id)


@shared_task(name="backups.schedules_tick", time_limit=300, ignore_result=True)
def backup_schedules_tick_task() -> list[str]:
    """Start the due scheduled backups and prune old ones (hangar.backups.schedules.backup_schedules_tick)."""
    from hangar.backups.schedules import backup_schedules_tick

    return backup_schedules_tick()
