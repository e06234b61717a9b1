"""Per-app backups: one row per archive, which stays in backup storage after the app is gone."""

from __future__ import annotations

import secrets

from django.db import models

from tenants.models import App, Organization


def backup_public_id() -> str:
    return "bk_" + secrets.token_hex(8)


class Backup(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    public_id = models.CharField(max_length=32, unique=True, default=backup_public_id)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    # SET_NULL: a backup outlives its app (restoring a deleted app is what it is for).
    app = models.ForeignKey(App, on_delete=models.SET_NULL, null=True, related_name="+")
    app_name = models.CharField(max_length=100)
    application_id = models.CharField(max_length=64)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    include_sessions = models.BooleanField(default=False)
    # Made by the app's schedule: only these are pruned to the schedule's ``keep``.
    scheduled = models.BooleanField(default=False)
    storage_key = models.CharField(max_length=300, blank=True, default="")
    size = models.PositiveBigIntegerField(default=0)
    # Rows and files written so far, per part ("objects", "relations", "files", ...): the progress display.
    counts = models.JSONField(default=dict)
    total_objects = models.PositiveBigIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    created_by = models.CharField(max_length=254, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.public_id} of {self.app_name}"


class BackupSchedule(models.Model):
    """An app's backups on a schedule: one every ``every_hours``, the newest ``keep`` of them kept."""

    app = models.OneToOneField(App, on_delete=models.CASCADE, related_name="backup_schedule")
    every_hours = models.PositiveIntegerField()
    keep = models.PositiveIntegerField(default=7)
    include_sessions = models.BooleanField(default=False)
    next_run_at = models.DateTimeField(db_index=True)
    created_by = models.CharField(max_length=254, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"backups of app {self.app_id} every {self.every_hours} h"


def restore_public_id() -> str:
    return "rs_" + secrets.token_hex(8)


class Restore(models.Model):
    """One restore of a backup (or of an uploaded archive) into an app, run by a worker (hangar.backups.restores).

    ``queued`` until a worker takes it, ``running`` while it does (``attempts`` counts the
    workers that started it: one that died leaves it running, and the redelivered task
    starts over), then ``done`` (set in the restore's own transaction, so it is done exactly
    when the app holds the backup's content) or ``failed`` with an ``error`` (nothing changed).
    """

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    public_id = models.CharField(max_length=32, unique=True, default=restore_public_id)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="+")
    # The stored backup restored, or an archive uploaded for this restore (kept in backup storage until it ends).
    backup = models.ForeignKey(Backup, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    upload_key = models.CharField(max_length=300, blank=True, default="")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    counts = models.JSONField(default=dict)
    failed_indexes = models.JSONField(default=list)
    # Cloud-code variables the archive holds but this deployment's keys cannot open (another deployment's backup).
    skipped_variables = models.JSONField(default=list)
    error = models.TextField(blank=True, default="")
    created_by = models.CharField(max_length=254, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One restore of an app at a time: a second one waits for the first to end.
            models.UniqueConstraint(
                fields=["app"], condition=models.Q(status__in=["queued", "running"]), name="backups_one_active_restore"
            )
        ]

    def __str__(self) -> str:
        return f"{self.public_id} into app {self.app_id}"
