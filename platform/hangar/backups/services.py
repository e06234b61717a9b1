"""Per-app backups: record, write to backup storage, restore into an app (new or existing)."""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from hangar.backups.archive import ArchiveError, archive_open, archive_write
from hangar.backups.models import Backup
from hangar.backups.restore import Restored, archive_restore
from hangar.backups.storage import BackupStorageError, backup_storage
from hangar.files.adapters import storage_for
from hangar.files.selectors import storage_key
from tenants.models import App

log = logging.getLogger(__name__)
# How often the progress columns are written while a backup runs (rows between two saves).
_PROGRESS_SAVE_EVERY = 100_000


@contextmanager
def work_dir() -> Iterator[Path]:
    root = Path(settings.HANGAR_BACKUP_WORK_DIR)
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = Path(tempfile.mkdtemp(prefix="backup-", dir=root))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def backup_record(*, app: App, include_sessions: bool, author: str, scheduled: bool = False) -> Backup:
    """The backup's row, before its archive is written (by backup_run, a Celery task)."""
    total = _object_count(app)
    return Backup.objects.create(
        organization_id=app.organization_id, app=app, app_name=app.name, application_id=app.application_id,
        include_sessions=include_sessions, created_by=author, total_objects=total, scheduled=scheduled,
    )  # fmt: skip


def backup_delete(*, backup: Backup) -> None:
    """Remove the archive from storage, then the row (a storage outage keeps both for a retry)."""
    if backup.storage_key:
        backup_storage().delete(backup.storage_key)
    backup.delete()


def _object_count(app: App) -> int:
    from django.db import connection

    from hangar.datastore.partitions import object_partition

    with connection.cursor() as cursor:
        # The planner's estimate: exact counts of a large partition take as long as reading it.
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [object_partition(app.pk)])
        row = cursor.fetchone()
    return max(int(row[0]), 0) if row else 0


def _file_reader(app_pk: int) -> object:
    def read(backend: str, name: str, size: int) -> Iterator[bytes]:
        if size == 0:
            return iter(())
        return storage_for(backend).read(storage_key(app_pk, name), start=0, end=size - 1)

    return read


def backup_run(*, backup_id: int) -> Backup:
    """Write the backup's archive to storage; idempotent: a backup no longer running is left as it is."""
    backup = Backup.objects.select_related("app").get(pk=backup_id)
    if backup.status != Backup.Status.RUNNING or backup.app is None:
        return backup
    saved = {"rows": 0}

    def progress(part: str, count: int) -> None:
        backup.counts[part] = count
        if part != "objects" or count - saved["rows"] >= _PROGRESS_SAVE_EVERY:
            saved["rows"] = count if part == "objects" else saved["rows"]
            Backup.objects.filter(pk=backup.pk).update(counts=backup.counts)

    try:
        with work_dir() as directory:
            written = archive_write(
                app_pk=backup.app.pk, include_sessions=backup.include_sessions, work_dir=directory,
                progress=progress, file_reader=_file_reader(backup.app.pk),  # type: ignore[arg-type]
            )  # fmt: skip
            key = f"app{backup.app.pk}/{backup.public_id}.tar"
            backup_storage().put(key, written.path)
            backup.size = written.path.stat().st_size
        backup.storage_key, backup.counts, backup.status = key, written.counts, Backup.Status.DONE
    except (BackupStorageError, OSError) as exc:
        log.exception("backup %s failed", backup.public_id)
        backup.status, backup.error = Backup.Status.FAILED, str(exc)[:2000]
    backup.finished_at = timezone.now()
    backup.save(update_fields=["storage_key", "counts", "status", "size", "error", "finished_at"])
    return backup


@contextmanager
def backup_archive_file(backup: Backup) -> Iterator[Path]:
    """The backup's archive as a local file, for a download or a restore."""
    if backup.status != Backup.Status.DONE:
        raise ArchiveError(f"backup {backup.public_id} is {backup.status}, not done")
    with work_dir() as directory:
        path = directory / "backup.tar"
        backup_storage().fetch(backup.storage_key, path)
        yield path


def backup_restore_from_file(*, app: App, path: Path) -> Restored:
    """Replace the app's content with the archive at ``path``."""
    archive = archive_open(path)
    with archive.tar:
        return archive_restore(app=app, archive=archive, progress=lambda part, count: None)


def backup_restore(*, app: App, backup: Backup) -> Restored:
    with backup_archive_file(backup) as path:
        return backup_restore_from_file(app=app, path=path)
