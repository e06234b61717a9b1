"""An app's file settings, its stored files' records and its storage usage.

The data plane reads and writes these tables as ``hangar_dataplane`` under row-level
security (migration 0001), like the object tables; the control plane writes settings.
"""

from __future__ import annotations

from django.db import models

from tenants.models import App


class FileSettings(models.Model):
    """Per-app upload policy and download URLs; an app without a row gets the defaults."""

    class UrlMode(models.TextChoices):
        HANGAR = "hangar", "Served by Hangar"
        PUBLIC = "public", "Redirect to the bucket's public URL"
        PRESIGNED = "presigned", "Redirect to a presigned URL"

    app = models.OneToOneField(App, on_delete=models.CASCADE, primary_key=True, related_name="file_settings")
    max_upload_bytes = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Largest file; empty means HANGAR_FILES_MAX_UPLOAD_BYTES."
    )
    allowed_content_types = models.JSONField(
        default=list, blank=True, help_text='e.g. ["image/*", "application/pdf"]; empty allows every type.'
    )
    storage_quota_bytes = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Total bytes for the app; empty means the plan's quota (0: unlimited)."
    )
    enable_for_public = models.BooleanField(default=False, help_text="Uploads without a user session.")
    enable_for_authenticated = models.BooleanField(default=True, help_text="Uploads by logged-in users.")
    url_mode = models.CharField(max_length=12, choices=UrlMode.choices, default=UrlMode.HANGAR)
    presigned_url_seconds = models.PositiveIntegerField(default=3600)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"file settings of app {self.app_id}"


class StoredFile(models.Model):
    """One uploaded file: where its bytes are and what to answer when it is read."""

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    backend = models.CharField(max_length=200)
    content_type = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    etag = models.CharField(max_length=64)
    metadata = models.JSONField(default=dict)
    tags = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["app", "name"], name="files_storedfile_app_name")]

    def __str__(self) -> str:
        return self.name


class FileUsage(models.Model):
    """Bytes and files an app stores, kept by the upload and delete services in their transactions."""

    app = models.OneToOneField(App, on_delete=models.CASCADE, primary_key=True, related_name="file_usage")
    bytes = models.BigIntegerField(default=0)
    count = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.count} files, {self.bytes} bytes"
