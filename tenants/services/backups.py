"""Backups from the management API: start one, restore one (or an uploaded archive) into an app.

The domain work is hangar.backups'; this layer checks the admin role on each app involved,
maps errors and records audit events. A backup taken in one organization may be restored
into an app of another only by someone who is an admin in both.
"""

from __future__ import annotations

from pathlib import Path

import redis
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from hangar.backups import schedules
from hangar.backups import services as backups
from hangar.backups.archive import ArchiveError
from hangar.backups.models import Backup, BackupSchedule
from hangar.backups.restore import Restored
from hangar.backups.selectors import backup_get, backup_list
from hangar.backups.storage import BackupStorageError
from hangar.backups.tasks import backup_run_task
from tenants.audit import audit_record
from tenants.errors import BackupUnavailableError, NotFoundError, ValidationFailedError
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


def backup_restore(*, actor: Developer, organization: Organization, app_pk: int, backup_id: str) -> Restored:
    """Replace the app's content with a stored backup (of this app, another one, or a deleted one)."""
    app = _app(actor, organization, app_pk)
    source = Backup.objects.filter(public_id=backup_id).select_related("organization").first()
    if source is None:
        raise NotFoundError("Backup not found.")
    # The backup's own organization decides who may read it: an admin there, or nobody.
    backup = backup_for(actor=actor, organization=source.organization, public_id=backup_id)
    try:
        restored = backups.backup_restore(app=app, backup=backup)
    except ArchiveError as exc:
        raise ValidationFailedError(str(exc), field="backup") from exc
    except BackupStorageError as exc:
        raise BackupUnavailableError(str(exc)) from exc
    _audit_restore(actor, app, {"backup": backup.public_id, "counts": restored.counts})
    return restored


def backup_restore_upload(*, actor: Developer, organization: Organization, app_pk: int, path: Path) -> Restored:
    """Replace the app's content with an uploaded archive (``hangar backup restore FILE``)."""
    app = _app(actor, organization, app_pk)
    try:
        restored = backups.backup_restore_from_file(app=app, path=path)
    except ArchiveError as exc:
        raise ValidationFailedError(str(exc), field="archive") from exc
    _audit_restore(actor, app, {"upload": True, "counts": restored.counts})
    return restored


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
