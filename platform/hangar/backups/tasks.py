"""Celery tasks of backups: write one backup's archive, run one restore, the schedules' tick."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="backups.backup_run", time_limit=6 * 60 * 60, ignore_result=True)
def backup_run_task(*, backup_id: int) -> None:
    """Write the archive of a recorded backup (idempotent: hangar.backups.services.backup_run)."""
    from hangar.backups.services import backup_run

    backup_run(backup_id=backup_id)


@shared_task(name="backups.restore_run", time_limit=6 * 60 * 60, ignore_result=True, acks_late=True)
def restore_run_task(*, restore_id: int) -> None:
    """Run a recorded restore (idempotent, and started over if a worker died: hangar.backups.restores)."""
    from hangar.backups.restores import restore_run

    restore_run(restore_id=restore_id)


@shared_task(name="backups.schedules_tick", time_limit=300, ignore_result=True)
def backup_schedules_tick_task() -> list[str]:
    """Start the due scheduled backups and prune old ones (hangar.backups.schedules.backup_schedules_tick)."""
    from hangar.backups.schedules import backup_schedules_tick

    return backup_schedules_tick()
