"""Restores as jobs: recorded by the API, run by a Celery worker, followed by polling their row.

``restore_record`` stores the request (and an uploaded archive, in backup storage, so any
worker can read it); ``restore_run`` (the task ``backups.restore_run``) takes the app's
restore lease (hangar.backups.lease: the Parse API refuses the app's writes meanwhile),
loads the archive in one transaction and marks the restore done inside that transaction.
A worker that dies mid-restore loses nothing: the transaction rolls back, the row stays
``running``, the lease lapses, and the task, acknowledged only at its end
(CELERY_TASK_ACKS_LATE), is delivered again and starts over, at most ``MAX_ATTEMPTS`` times.
"""

from __future__ import annotations

import logging
from pathlib import Path

import redis
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from hangar.backups.archive import ArchiveError, archive_open
from hangar.backups.lease import RestoreLease
from hangar.backups.models import Backup, Restore
from hangar.backups.restore import Restored, archive_restore
from hangar.backups.services import work_dir
from hangar.backups.storage import BackupStorageError, backup_storage
from tenants.models import App

log = logging.getLogger(__name__)
# Workers that may start one restore: the first, and redeliveries after a worker died.
MAX_ATTEMPTS = 3


class RestoreBusyError(Exception):
    """A restore of the app is already queued or running."""


def restore_record(*, app: App, author: str, backup: Backup | None = None, upload: Path | None = None) -> Restore:
    """Record a restore of ``backup`` or of the archive file ``upload`` into ``app`` (the caller enqueues it)."""
    restore = Restore(organization_id=app.organization_id, app=app, backup=backup, created_by=author)
    if upload is not None:
        restore.upload_key = f"app{app.pk}/uploads/{restore.public_id}.tar"
        backup_storage().put(restore.upload_key, upload)
    try:
        with transaction.atomic():
            restore.save()
    except IntegrityError as exc:
        _upload_remove(restore)
        raise RestoreBusyError("A restore of this app is already running; wait for it to end.") from exc
    return restore


def restore_fail(*, restore_id: int, error: str) -> None:
    """End a restore that never ran (its task could not be queued, or it gave up)."""
    Restore.objects.filter(pk=restore_id, status__in=Restore.ACTIVE).update(
        status=Restore.Status.FAILED, error=error[:2000], finished_at=timezone.now()
    )


def _upload_remove(restore: Restore) -> None:
    if restore.upload_key:
        try:
            backup_storage().delete(restore.upload_key)
        except BackupStorageError:
            log.warning("could not remove the uploaded archive %s", restore.upload_key)


def _fetch(restore: Restore, directory: Path) -> Path:
    path = directory / "restore.tar"
    if restore.upload_key:
        backup_storage().fetch(restore.upload_key, path)
    elif restore.backup is not None and restore.backup.status == Backup.Status.DONE:
        backup_storage().fetch(restore.backup.storage_key, path)
    else:
        raise ArchiveError("the backup to restore is gone or was never completed")
    return path


def _done_inside(restore: Restore) -> object:
    def mark(restored: Restored) -> None:
        Restore.objects.filter(pk=restore.pk).update(
            status=Restore.Status.DONE, counts=restored.counts, skipped_variables=restored.skipped_variables,
            error="", finished_at=timezone.now(),
        )  # fmt: skip

    return mark


def _started(restore: Restore) -> bool:
    """Count this worker's start; False once the restore has had its attempts (it is failed then)."""
    if restore.attempts >= MAX_ATTEMPTS:
        restore_fail(
            restore_id=restore.pk,
            error=f"gave up after {restore.attempts} attempts: the worker stopped each time (nothing was changed)",
        )
        return False
    Restore.objects.filter(pk=restore.pk).update(
        status=Restore.Status.RUNNING, attempts=F("attempts") + 1, started_at=timezone.now()
    )
    return True


def _lease_released(lease: RestoreLease) -> None:
    try:
        lease.release()
    except redis.RedisError:
        log.warning("could not release %s; it lapses by itself", lease.key)


def restore_run(*, restore_id: int) -> Restore:
    """Run a recorded restore; idempotent: a restore already done or failed is left as it is."""
    restore = Restore.objects.select_related("app", "backup").get(pk=restore_id)
    if restore.status not in Restore.ACTIVE or not _started(restore):
        return Restore.objects.get(pk=restore_id)
    lease = RestoreLease(restore.app.pk, restore.public_id)
    try:
        lease.take()
        with work_dir() as directory:
            archive = archive_open(_fetch(restore, directory))
            with archive.tar:
                restored = archive_restore(
                    app=restore.app, archive=archive, progress=lambda part, count: lease.renew(),
                    inside=_done_inside(restore),  # type: ignore[arg-type]
                )  # fmt: skip
        Restore.objects.filter(pk=restore.pk).update(failed_indexes=restored.failed_indexes)
    except (ArchiveError, BackupStorageError) as exc:
        restore_fail(restore_id=restore.pk, error=str(exc))
    except redis.RedisError as exc:
        restore_fail(restore_id=restore.pk, error=f"the app could not be made read-only (Redis: {exc}); try again")
    except Exception as exc:
        # Not a dead worker (that raises nothing here): the task ends now, so the row must too, or
        # the app could never be restored again (one active restore per app).
        restore_fail(restore_id=restore.pk, error=f"the restore failed ({type(exc).__name__}); nothing changed")
        raise
    finally:
        _lease_released(lease)
    restore.refresh_from_db()
    if restore.status not in Restore.ACTIVE:
        _upload_remove(restore)
    return restore
