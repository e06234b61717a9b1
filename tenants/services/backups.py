"""Backups from the management API: start one, queue a restore of one (or of an uploaded archive) into an app.

The domain work is hangar.backups'; this layer checks the admin role on each app involved,
maps errors and records audit events. A backup taken in one organization may be restored
into an app of another only by someone who is an admin in both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import redis
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from hangar.backups import restores, schedules
from hangar.backups import services as backups
from hangar.backups.archive import ArchiveError, archive_open
from hangar.backups.models import Backup, BackupSchedule, Restore
from hangar.backups.restore import schema_rows_checked
from hangar.backups.selectors import backup_get, backup_list, restore_get
from hangar.backups.storage import BackupStorageError
from hangar.backups.tasks import backup_run_task, restore_run_task
from tenants.audit import audit_record
from tenants.errors import BackupUnavailableError, NotFoundError, RestoreBusyError, ValidationFailedError
from tenants.models import App, Developer, Organization
from tenants.roles import Permission
from tenants.services.access import membership_require


def _app(actor: Developer, organization: Organization, app_pk: int) -> App:
    membership_require(actor=actor, organization=organization, permission=Permission.MANAGE_BACKUPS)
    app = organization.apps.filter(pk=app_pk, status=App.Status.ACTIVE).first()
    if app is None:
        raise NotFoundError("App not found.")
    return app


def backup_create(*, actor: Developer, organization: Organization, app_pk: int, include_sessions: bool) -> Backup:
    """Record a backup and hand its writing to a worker; its row shows the progress."""
    app = _app(actor, organization, app_pk)
    with transaction.atomic():
        backup = backups.backup_record(app=app, include_sessions=include_sessions, author=actor.email)
        audit_record(
            actor=actor, organization=organization, action="app.backup", target_type="app",
            target_id=app.application_id, target_name=app.name,
            details={"backup": backup.public_id, "include_sessions": include_sessions},
        )  # fmt: skip
    _enqueued(backup)
    backup.refresh_from_db()
    return backup


def _enqueued(backup: Backup) -> None:
    """Hand the backup to a worker; if the broker does not answer, the backup is failed and the caller told to retry."""
    try:
        backup_run_task.delay(backup_id=backup.pk)
    except (KombuOperationalError, redis.RedisError, OSError) as exc:
        Backup.objects.filter(pk=backup.pk, status=Backup.Status.RUNNING).update(
            status=Backup.Status.FAILED, error=f"the task queue did not answer: {exc}", finished_at=timezone.now()
        )
        raise BackupUnavailableError("Backups cannot be started right now (the task queue does not answer).") from exc


def backup_for(*, actor: Developer, organization: Organization, public_id: str) -> Backup:
    """A backup of the organization, for an admin (a backup holds password hashes)."""
    membership_require(actor=actor, organization=organization, permission=Permission.MANAGE_BACKUPS)
    backup = backup_get(organization=organization, public_id=public_id)
    if backup is None:
        raise NotFoundError("Backup not found.")
    return backup


def backups_visible(*, actor: Developer, organization: Organization, application_id: str | None) -> list[Backup]:
    """The organization's backups (of one app if given, deleted apps' too), for an admin."""
    membership_require(actor=actor, organization=organization, permission=Permission.MANAGE_BACKUPS)
    return backup_list(organization=organization, application_id=application_id)


def _audit_restore(actor: Developer, app: App, details: dict[str, object]) -> None:
    audit_record(
        actor=actor, organization=app.organization, action="app.restore", target_type="app",
        target_id=app.application_id, target_name=app.name, details=details,
    )  # fmt: skip


def backup_restore(*, actor: Developer, organization: Organization, app_pk: int, backup_id: str) -> Restore:
    """Queue a restore of a stored backup (of this app, another one, or a deleted one) into the app."""
    app = _app(actor, organization, app_pk)
    source = Backup.objects.filter(public_id=backup_id).select_related("organization").first()
    if source is None:
        raise NotFoundError("Backup not found.")
    # The backup's own organization decides who may read it: an admin there, or nobody.
    backup = backup_for(actor=actor, organization=source.organization, public_id=backup_id)
    if backup.status != Backup.Status.DONE:
        raise ValidationFailedError(f"Backup {backup.public_id} is {backup.status}, not done.", field="backup")
    restore = _restore_recorded(app, actor, backup=backup)
    _audit_restore(actor, app, {"backup": backup.public_id, "restore": restore.public_id})
    return _restore_enqueued(restore)


def backup_restore_upload(*, actor: Developer, organization: Organization, app_pk: int, path: Path) -> Restore:
    """Queue a restore of an uploaded archive (``hangar backup restore FILE``); a non-archive is refused at once."""
    app = _app(actor, organization, app_pk)
    try:
        archive = archive_open(path)
        with archive.tar:
            schema_rows_checked(archive.state.get("schema"))
    except ArchiveError as exc:
        raise ValidationFailedError(str(exc), field="archive") from exc
    restore = _restore_recorded(app, actor, upload=path)
    _audit_restore(actor, app, {"upload": True, "restore": restore.public_id})
    return _restore_enqueued(restore)


def _restore_recorded(app: App, actor: Developer, **source: Any) -> Restore:
    try:
        return restores.restore_record(app=app, author=actor.email, **source)
    except restores.RestoreBusyError as exc:
        raise RestoreBusyError(str(exc)) from exc
    except BackupStorageError as exc:
        raise BackupUnavailableError(str(exc)) from exc


def _restore_enqueued(restore: Restore) -> Restore:
    """Hand the restore to a worker; if the broker does not answer, the restore is failed and the caller told so."""
    try:
        restore_run_task.delay(restore_id=restore.pk)
    except (KombuOperationalError, redis.RedisError, OSError) as exc:
        restores.restore_fail(restore_id=restore.pk, error=f"the task queue did not answer: {exc}")
        raise BackupUnavailableError("Restores cannot be started right now (the task queue does not answer).") from exc
    restore.refresh_from_db()
    return restore


def restore_for(*, actor: Developer, organization: Organization, public_id: str) -> Restore:
    """A restore into one of the organization's apps and its status, for an admin."""
    membership_require(actor=actor, organization=organization, permission=Permission.MANAGE_BACKUPS)
    restore = restore_get(organization=organization, public_id=public_id)
    if restore is None:
        raise NotFoundError("Restore not found.")
    return restore


def backup_schedule_set(
    *, actor: Developer, organization: Organization, app_pk: int, every_hours: int, keep: int, include_sessions: bool
) -> BackupSchedule:
    app = _app(actor, organization, app_pk)
    try:
        schedule = schedules.backup_schedule_set(
            app=app, every_hours=every_hours, keep=keep, include_sessions=include_sessions, author=actor.email
        )
    except ValueError as exc:
        raise ValidationFailedError(str(exc), field="every_hours") from exc
    audit_record(
        actor=actor, organization=organization, action="app.backup_schedule", target_type="app",
        target_id=app.application_id, target_name=app.name,
        details={"every_hours": every_hours, "keep": keep, "include_sessions": include_sessions},
    )  # fmt: skip
    return schedule


def backup_schedule_get(*, actor: Developer, organization: Organization, app_pk: int) -> BackupSchedule | None:
    app = _app(actor, organization, app_pk)
    return BackupSchedule.objects.filter(app=app).first()


def backup_schedule_clear(*, actor: Developer, organization: Organization, app_pk: int) -> None:
    app = _app(actor, organization, app_pk)
    if schedules.backup_schedule_clear(app=app):
        audit_record(
            actor=actor, organization=organization, action="app.backup_schedule_clear", target_type="app",
            target_id=app.application_id, target_name=app.name,
        )  # fmt: skip


def backup_remove(*, actor: Developer, organization: Organization, public_id: str) -> None:
    """Delete a backup's archive and record (admin)."""
    backup = backup_for(actor=actor, organization=organization, public_id=public_id)
    try:
        backups.backup_delete(backup=backup)
    except BackupStorageError as exc:
        raise BackupUnavailableError(str(exc)) from exc
    audit_record(
        actor=actor, organization=organization, action="app.backup_delete", target_type="backup",
        target_id=public_id, target_name=backup.app_name,
    )  # fmt: skip
