"""An app's "Schema and backups" page: the schema's migration history (roll back), backups (take one,
download, schedule). Restores and imports stay in the CLI (`hangar backup restore`, docs/cli.md),
where replacing an app's content is asked for explicitly."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import cast

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from dashboard.access import DeveloperRequest, app_view, capabilities
from hangar.backups.services import backup_archive_file
from hangar.backups.storage import BackupStorageError
from hangar.schema_history.planning import describe
from tenants import selectors
from tenants.errors import NotFoundError, PermissionDeniedError, TenantsError
from tenants.roles import Permission, role_allows
from tenants.selectors import AppAccess
from tenants.services import backups, schema_code

HISTORY_SHOWN = 50


def _back(access: AppAccess) -> HttpResponse:
    return redirect("dashboard:schema_backups", organization_id=access.organization.pk, app_id=access.app.pk)


@require_GET
@app_view()
def schema_backups_page(request: DeveloperRequest, access: AppAccess) -> HttpResponse:
    developer, organization, app = request.user, access.organization, access.app
    migrations = selectors.schema_migration_list_for(developer=developer, organization=organization, app_pk=app.pk)
    may_back_up = role_allows(access.role, Permission.MANAGE_BACKUPS)
    context = {
        "access": access,
        "app": app,
        "can": capabilities(access.role),
        "tab": "schema_backups",
        "migrations": [
            {"row": row, "changes": [describe(op) for op in row.operations]} for row in migrations[:HISTORY_SHOWN]
        ],
        "undoable": next((row.number for row in migrations if not row.rolled_back and row.source != "rollback"), None),
        "backups": (
            backups.backups_visible(actor=developer, organization=organization, application_id=app.application_id)
            if may_back_up
            else []
        ),
        "schedule": backups.backup_schedule_get(actor=developer, organization=organization, app_pk=app.pk)
        if may_back_up
        else None,
    }
    return render(request, "dashboard/apps/schema_backups.html", context)


@require_POST
@app_view(requires=Permission.MANAGE_SCHEMA)
def schema_rollback(request: DeveloperRequest, access: AppAccess) -> HttpResponse:
    try:
        migration = schema_code.schema_rollback(
            actor=request.user, organization=access.organization, app_pk=access.app.pk, number=None
        )
    except (NotFoundError, PermissionDeniedError):
        raise
    except TenantsError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Rolled back migration {migration.reverts} (recorded as {migration.number}).")
    return _back(access)


@require_POST
@app_view(requires=Permission.MANAGE_BACKUPS)
def backup_create(request: DeveloperRequest, access: AppAccess) -> HttpResponse:
    backup = backups.backup_create(
        actor=request.user, organization=access.organization, app_pk=access.app.pk,
        include_sessions=request.POST.get("include_sessions") == "on",
    )  # fmt: skip
    messages.success(request, f"Backup {backup.public_id} started; it is listed below.")
    return _back(access)


@require_POST
@app_view(requires=Permission.MANAGE_BACKUPS)
def backup_schedule(request: DeveloperRequest, access: AppAccess) -> HttpResponse:
    try:
        if request.POST.get("off"):
            backups.backup_schedule_clear(actor=request.user, organization=access.organization, app_pk=access.app.pk)
            messages.success(request, "Scheduled backups stopped.")
            return _back(access)
        every, keep = int(request.POST.get("every_hours", "")), int(request.POST.get("keep", "7"))
        backups.backup_schedule_set(
            actor=request.user, organization=access.organization, app_pk=access.app.pk, every_hours=every,
            keep=keep, include_sessions=request.POST.get("include_sessions") == "on",
        )  # fmt: skip
    except ValueError:
        messages.error(request, "Give the hours between backups and how many to keep as whole numbers.")
    except TenantsError as exc:
        if isinstance(exc, NotFoundError | PermissionDeniedError):
            raise
        messages.error(request, exc.message)
    else:
        messages.success(request, f"The app is backed up every {every} h; the newest {keep} are kept.")
    return _back(access)


@require_GET
@app_view(requires=Permission.MANAGE_BACKUPS)
def backup_download(request: DeveloperRequest, access: AppAccess, backup_id: str) -> HttpResponse:
    backup = backups.backup_for(actor=request.user, organization=access.organization, public_id=backup_id)
    if backup.application_id != access.app.application_id:
        raise NotFoundError("Backup not found.")
    directory = Path(settings.HANGAR_BACKUP_WORK_DIR) / f"dashboard-{backup.public_id}-{id(request)}"
    directory.mkdir(parents=True, exist_ok=True)
    try:
        with backup_archive_file(backup) as path:
            target = directory / "backup.tar"
            shutil.move(path, target)
    except (BackupStorageError, ValueError) as exc:
        shutil.rmtree(directory, ignore_errors=True)
        messages.error(request, f"The archive cannot be read now: {exc}")
        return _back(access)
    response = _TemporaryFileResponse(target, directory, filename=f"{backup.app_name}-{backup.public_id}.tar")
    # app_view types views as returning HttpResponse; Django serves a streaming response the same way.
    return cast(HttpResponse, response)


class _TemporaryFileResponse(FileResponse):
    """Streams a temporary copy of the archive and removes it once sent."""

    def __init__(self, path: Path, directory: Path, *, filename: str) -> None:
        super().__init__(path.open("rb"), as_attachment=True, filename=filename, content_type="application/x-tar")
        self._directory = directory

    def close(self) -> None:
        super().close()
        shutil.rmtree(self._directory, ignore_errors=True)
