"""Celery tasks of the tenants domain."""

from __future__ import annotations

from celery import shared_task

from tenants.services import app_purge
from tenants.services.apps import app_spare_partitions_fill, apps_awaiting_purge


# Time limits end a stuck run (a storage backend that never answers) instead of letting it
# hold its lease for ever: the app stays marked for deletion, and the sweep runs it again.
# Ten minutes is far more than dropping partitions and removing a large app's files takes.
@shared_task(name="tenants.purge_app", bind=True, time_limit=600)
def purge_app(self, *, app_pk: int) -> bool:  # type: ignore[no-untyped-def]
    """Remove a deleted app's data, partitions, keys and files (idempotent, restartable)."""
    return app_purge(app_pk=app_pk)


@shared_task(name="tenants.purge_deleted_apps", time_limit=1800)
def purge_deleted_apps() -> int:
    """Sweep: purge apps marked for deletion whose purge task was lost (broker down, worker crash)."""
    return sum(1 for app_pk in apps_awaiting_purge() if app_purge(app_pk=app_pk))


# Twenty thousand rows through the API's create take minutes on a busy machine; an hour ends a stuck one.
# max_retries=None: a redelivered task waits for as long as the job's previous run still beats.
@shared_task(name="tenants.data_import_run", bind=True, time_limit=3600, max_retries=None)
def data_import_run(self, *, app_pk: int, job_id: str) -> bool:  # type: ignore[no-untyped-def]
    """Import a queued file into its class, or resume the job of a worker that died (idempotent)."""
    from tenants.data_import import ImportBusyError, heartbeat_stale_seconds, import_run

    try:
        return import_run(app_pk=app_pk, job_id=job_id) is not None
    except ImportBusyError as exc:  # a duplicate delivery while the job's worker lives: look again later
        raise self.retry(countdown=heartbeat_stale_seconds()) from exc


@shared_task(name="tenants.spare_partitions_fill", time_limit=600)
def spare_partitions_fill() -> int:
    """Top the pool of partitions made ahead up to HANGAR_SPARE_APP_PARTITIONS (after each claim, and every minute)."""
    return app_spare_partitions_fill()
