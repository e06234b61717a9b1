"""Recorded schema migrations: every change of an app's schema.

Pushes, rollbacks, promotions and restores, and the changes made through /schemas, the
dashboard and schema-on-write (hangar.schema_history.recording).
"""

from __future__ import annotations

from django.db import models

from tenants.models import App


class SchemaMigration(models.Model):
    """One applied change of an app's schema: what it did, how to undo it, who and when.

    ``reverse`` holds the operations that undo ``operations`` (newest first); an operation
    that cannot be undone (a dropped field's data) is listed in ``irreversible`` instead.
    """

    class Source(models.TextChoices):
        PUSH = "push", "Schema push"
        ROLLBACK = "rollback", "Rollback"
        PROMOTION = "promotion", "Promotion from another app"
        RESTORE = "restore", "Backup restore"
        # A change through /schemas with the master key (Parse Dashboard, a script), recorded as it happens.
        PARSE_API = "parse_api", "Parse /schemas with the master key"
        # An edit in Hangar's dashboard (the data browser's classes, columns, CLPs and indexes).
        DASHBOARD = "dashboard", "Dashboard edit"
        # A client's save that created a class or added fields (hangar.datastore.schema_registry).
        SCHEMA_ON_WRITE = "schema_on_write", "Schema-on-write by a client's save"

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="schema_migrations")
    number = models.PositiveIntegerField()
    source = models.CharField(max_length=20, choices=Source.choices)
    author_email = models.CharField(max_length=254, blank=True, default="")
    message = models.CharField(max_length=200, blank=True, default="")
    operations = models.JSONField(default=list)
    reverse = models.JSONField(default=list)
    irreversible = models.JSONField(default=list)
    # For a rollback: the migration it undid; for a promotion: the app it came from.
    reverts = models.PositiveIntegerField(null=True, blank=True)
    promoted_from = models.CharField(max_length=64, blank=True, default="")
    rolled_back = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["app", "number"], name="schema_history_number_per_app")]
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"schema migration {self.number} of app {self.app_id}"
