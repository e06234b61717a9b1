"""Celery task of backups: write one backup's archive."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="backups.backup_run", time_limit=6 * 60 * 60, ignore_result=True)
def backup_run_task(*, backup_id: int) -> None:
    """Write the archive of a recorded backup (idempotent: hangar.backups.services.backup_run)."""
    from hangar.backups.services import backup_run

    backup_run(backup_id=backup_id)
