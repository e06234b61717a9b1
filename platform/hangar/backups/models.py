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
