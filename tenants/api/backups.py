"""Per-app backups: start one, follow its progress, download it, restore it (or an uploaded archive).

A restore is a job (hangar.backups.restores): the API answers 202 with the queued restore,
whose status the client polls at ``restores/<id>`` (``hangar backup restore --wait``).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import FileResponse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from hangar.backups.models import Backup, BackupSchedule, Restore
from hangar.backups.schedules import MAX_EVERY_HOURS, MAX_KEEP
from hangar.backups.services import backup_archive_file, work_dir
from hangar.backups.storage import BackupStorageError
from tenants.api.base import OrganizationScopedApi, decoded, developer_of
from tenants.errors import BackupUnavailableError, ValidationFailedError
from tenants.services import backups

TAGS = ["backups"]


class BackupSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id")
    # A plain string in the OpenAPI document: an enum here would collide with the apps' "status" enum.
    status = serializers.CharField(read_only=True, help_text="running, done or failed")

    class Meta:
        model = Backup
        fields = [
            "id", "app_name", "application_id", "status", "include_sessions", "size", "counts", "total_objects",
            "error", "created_by", "created_at", "finished_at",
        ]  # fmt: skip


class RestoreSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id")
    status = serializers.CharField(read_only=True, help_text="queued, running, done or failed")
    application_id = serializers.CharField(source="app.application_id", read_only=True)
    backup_id = serializers.CharField(source="backup.public_id", read_only=True, allow_null=True, default=None)

    class Meta:
        model = Restore
        fields = [
            "id", "application_id", "backup_id", "status", "attempts", "counts", "failed_indexes",
            "skipped_variables", "error", "created_by", "created_at", "started_at", "finished_at",
        ]  # fmt: skip


class BackupScheduleSerializer(serializers.ModelSerializer):
    class Meta:
        model = BackupSchedule
        fields = ["every_hours", "keep", "include_sessions", "next_run_at", "created_by", "updated_at"]


class BackupScheduleInputSerializer(serializers.Serializer):
    every_hours = serializers.IntegerField(min_value=1, max_value=MAX_EVERY_HOURS)
    keep = serializers.IntegerField(min_value=1, max_value=MAX_KEEP, default=7)
    include_sessions = serializers.BooleanField(default=False)


class BackupCreateInputSerializer(serializers.Serializer):
    include_sessions = serializers.BooleanField(default=False)


class RestoreInputSerializer(serializers.Serializer):
    backup_id = serializers.CharField(max_length=32, required=False)
    archive = serializers.FileField(required=False, help_text="A backup archive (multipart), instead of backup_id.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("backup_id" in attrs) == ("archive" in attrs):
            raise serializers.ValidationError({"backup_id": "Send either backup_id or an archive file."})
        return attrs


class BackupListApi(OrganizationScopedApi):
    @extend_schema(tags=TAGS, responses=BackupSerializer(many=True), summary="The organization's backups (admin)")
    def get(self, request: Request, org_id: int) -> Response:
        rows = backups.backups_visible(
            actor=developer_of(request), organization=self.organization, application_id=request.query_params.get("app")
        )
        return Response(BackupSerializer(rows, many=True).data)


class AppBackupCreateApi(OrganizationScopedApi):
    @extend_schema(
        tags=TAGS, request=BackupCreateInputSerializer, responses={202: BackupSerializer},
        summary="Back the app up (admin); poll the backup for its progress",
    )  # fmt: skip
    def post(self, request: Request, org_id: int, app_id: int) -> Response:
        data = decoded(BackupCreateInputSerializer, request.data if request.data else {})
        backup = backups.backup_create(
            actor=developer_of(request), organization=self.organization, app_pk=app_id,
            include_sessions=data["include_sessions"],
        )  # fmt: skip
        return Response(BackupSerializer(backup).data, status=status.HTTP_202_ACCEPTED)


class BackupDetailApi(OrganizationScopedApi):
    @extend_schema(tags=TAGS, responses=BackupSerializer, summary="One backup and its progress (admin)")
    def get(self, request: Request, org_id: int, backup_id: str) -> Response:
        backup = backups.backup_for(actor=developer_of(request), organization=self.organization, public_id=backup_id)
        return Response(BackupSerializer(backup).data)

    @extend_schema(tags=TAGS, responses={204: None}, summary="Delete a backup's archive and record (admin)")
    def delete(self, request: Request, org_id: int, backup_id: str) -> Response:
        backups.backup_remove(actor=developer_of(request), organization=self.organization, public_id=backup_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AppBackupScheduleApi(OrganizationScopedApi):
    @extend_schema(
        tags=TAGS, responses=BackupScheduleSerializer, summary="The app's backup schedule (admin); null: none"
    )
    def get(self, request: Request, org_id: int, app_id: int) -> Response:
        row = backups.backup_schedule_get(actor=developer_of(request), organization=self.organization, app_pk=app_id)
        return Response(BackupScheduleSerializer(row).data if row else None)

    @extend_schema(
        tags=TAGS, request=BackupScheduleInputSerializer, responses=BackupScheduleSerializer,
        summary="Back the app up every N hours, keeping the newest K scheduled backups (admin)",
    )  # fmt: skip
    def put(self, request: Request, org_id: int, app_id: int) -> Response:
        data = decoded(BackupScheduleInputSerializer, request.data)
        row = backups.backup_schedule_set(
            actor=developer_of(request), organization=self.organization, app_pk=app_id, **data
        )
        return Response(BackupScheduleSerializer(row).data)

    @extend_schema(tags=TAGS, responses={204: None}, summary="Stop the app's scheduled backups (admin)")
    def delete(self, request: Request, org_id: int, app_id: int) -> Response:
        backups.backup_schedule_clear(actor=developer_of(request), organization=self.organization, app_pk=app_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class _DeletingFileResponse(FileResponse):
    """Streams a temporary copy of the archive and removes it once sent."""

    def __init__(self, path: Path, directory: Path, **kwargs: Any) -> None:
        super().__init__(path.open("rb"), **kwargs)
        self._directory = directory

    def close(self) -> None:
        super().close()
        shutil.rmtree(self._directory, ignore_errors=True)


class BackupArchiveApi(OrganizationScopedApi):
    @extend_schema(tags=TAGS, responses={(200, "application/x-tar"): bytes}, summary="Download the archive (admin)")
    def get(self, request: Request, org_id: int, backup_id: str) -> FileResponse:
        backup = backups.backup_for(actor=developer_of(request), organization=self.organization, public_id=backup_id)
        copy_dir = Path(settings.HANGAR_BACKUP_WORK_DIR) / f"download-{backup.public_id}-{id(request)}"
        copy_dir.mkdir(parents=True, exist_ok=True)
        try:
            with backup_archive_file(backup) as path:
                target = copy_dir / "backup.tar"
                shutil.move(path, target)
        except BackupStorageError as exc:
            shutil.rmtree(copy_dir, ignore_errors=True)
            raise BackupUnavailableError(str(exc)) from exc
        except Exception:
            shutil.rmtree(copy_dir, ignore_errors=True)
            raise
        return _DeletingFileResponse(
            target, copy_dir, as_attachment=True, filename=f"{backup.app_name}-{backup.public_id}.tar",
            content_type="application/x-tar",
        )  # fmt: skip


class AppRestoreApi(OrganizationScopedApi):
    @extend_schema(
        tags=TAGS, request=RestoreInputSerializer, responses={202: RestoreSerializer},
        summary="Queue a restore of a backup or an uploaded archive into the app (admin); poll the restore",
    )  # fmt: skip
    def post(self, request: Request, org_id: int, app_id: int) -> Response:
        data = decoded(RestoreInputSerializer, request.data)
        actor = developer_of(request)
        if "backup_id" in data:
            restore = backups.backup_restore(
                actor=actor, organization=self.organization, app_pk=app_id, backup_id=data["backup_id"]
            )
        else:
            upload = data["archive"]
            if upload.size > settings.HANGAR_BACKUP_MAX_UPLOAD_BYTES:
                raise ValidationFailedError(
                    f"The archive is larger than {settings.HANGAR_BACKUP_MAX_UPLOAD_BYTES} bytes.", field="archive"
                )
            with work_dir() as directory:
                path = directory / "upload.tar"
                with path.open("wb") as out:
                    for chunk in upload.chunks():
                        out.write(chunk)
                restore = backups.backup_restore_upload(
                    actor=actor, organization=self.organization, app_pk=app_id, path=path
                )
        return Response(RestoreSerializer(restore).data, status=status.HTTP_202_ACCEPTED)


class RestoreDetailApi(OrganizationScopedApi):
    @extend_schema(tags=TAGS, responses=RestoreSerializer, summary="One restore and its status (admin)")
    def get(self, request: Request, org_id: int, restore_id: str) -> Response:
        restore = backups.restore_for(actor=developer_of(request), organization=self.organization, public_id=restore_id)
        return Response(RestoreSerializer(restore).data)
