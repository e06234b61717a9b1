"""Generated SDKs: one snapshot per distinct schema of an app (its version), and the packages built for it."""

from __future__ import annotations

from django.db import models

from tenants.models import App


class SdkSnapshot(models.Model):
    """A schema an app's SDKs were generated for; ``number`` orders them and makes the SDK version 1.<number>.0."""

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="sdk_snapshots")
    number = models.PositiveIntegerField()
    schema_hash = models.CharField(max_length=64)
    # What the hash covers (sdk_gen.spec.AppSpec.schema_document): the changelog diffs consecutive ones.
    schema = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    # The compiled packages (TypeScript, Java) are built by a Celery task, never inside a request:
    # when it was queued (a claim: one task per snapshot), and when and why its last run failed.
    build_queued_at = models.DateTimeField(null=True, blank=True)
    build_failed_at = models.DateTimeField(null=True, blank=True)
    build_error = models.TextField(blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["app", "number"], name="sdk_snapshot_number_per_app"),
            models.UniqueConstraint(fields=["app", "schema_hash"], name="sdk_snapshot_hash_per_app"),
        ]
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"SDK schema {self.number} of app {self.app_id}"

    @property
    def version(self) -> str:
        return f"1.{self.number}.0"


class SdkPackage(models.Model):
    """One built artifact (wheel, npm tarball, jar, OpenAPI JSON), cached until the schema changes."""

    snapshot = models.ForeignKey(SdkSnapshot, on_delete=models.CASCADE, related_name="packages")
    language = models.CharField(max_length=16)
    filename = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    content = models.BinaryField()
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["snapshot", "language"], name="sdk_package_per_language")]

    def __str__(self) -> str:
        return self.filename
