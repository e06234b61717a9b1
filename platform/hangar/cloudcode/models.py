"""Cloud-code tables: immutable bundle versions, the active one per app, and per-app variables."""

from __future__ import annotations

from django.db import models

from tenants.models import App


class CloudVersion(models.Model):
    """One uploaded bundle, stored whole (a normalized zip) and never changed after upload."""

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="cloud_versions")
    number = models.PositiveIntegerField()
    archive = models.BinaryField()
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    # What the bundle registered, as the sandbox reported it at validation (hangar_cloud._registry.describe).
    handlers = models.JSONField(default=dict)
    note = models.CharField(max_length=200, blank=True, default="")
    created_by = models.CharField(max_length=254, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["app", "number"], name="cloudcode_version_number_per_app")]
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"version {self.number} of app {self.app_id}"


class CloudActivation(models.Model):
    """Which version an app runs: one row per app, switched in one UPDATE (activation and rollback)."""

    app = models.OneToOneField(App, on_delete=models.CASCADE, related_name="cloud_activation")
    # RESTRICT, not PROTECT: an active version cannot be deleted on its own, yet goes with its app.
    version = models.ForeignKey(CloudVersion, on_delete=models.RESTRICT, related_name="+")
    activated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"app {self.app_id} runs version id {self.version_id}"


class CloudVariable(models.Model):
    """An environment variable of the app's bundle; encrypted at rest (hangar.secretbox), secrets never shown again."""

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="cloud_variables")
    name = models.CharField(max_length=128)
    ciphertext = models.TextField()
    is_secret = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["app", "name"], name="cloudcode_variable_name_per_app")]
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} of app {self.app_id}"


class CloudLimits(models.Model):
    """An app's own handler deadlines, within the platform's maximums (HANGAR_CLOUD_*_TIMEOUT_MAX_SECONDS).

    Empty: the platform's defaults (HANGAR_CLOUD_FUNCTION_TIMEOUT_SECONDS, HANGAR_CLOUD_TRIGGER_TIMEOUT_SECONDS).
    """

    app = models.OneToOneField(App, on_delete=models.CASCADE, related_name="cloud_limits")
    function_timeout_seconds = models.FloatField(null=True, blank=True)
    trigger_timeout_seconds = models.FloatField(null=True, blank=True)

    def __str__(self) -> str:
        return f"cloud-code limits of app {self.app_id}"


class CloudWebhook(models.Model):
    """A function or trigger served by the developer's own HTTPS endpoint (Parse's ``/hooks`` API).

    A function webhook has ``function_name``; a trigger webhook has ``class_name`` and
    ``trigger_name`` (``beforeSave``...). The other fields stay empty.
    """

    KIND_FUNCTION = "function"
    KIND_TRIGGER = "trigger"
    KINDS = [(KIND_FUNCTION, "function"), (KIND_TRIGGER, "trigger")]

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="cloud_webhooks")
    kind = models.CharField(max_length=16, choices=KINDS)
    function_name = models.CharField(max_length=128, blank=True, default="")
    class_name = models.CharField(max_length=128, blank=True, default="")
    trigger_name = models.CharField(max_length=32, blank=True, default="")
    url = models.CharField(max_length=2048)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["app", "function_name"], condition=models.Q(kind="function"),
                name="cloudcode_webhook_function_per_app",
            ),
            models.UniqueConstraint(
                fields=["app", "class_name", "trigger_name"], condition=models.Q(kind="trigger"),
                name="cloudcode_webhook_trigger_per_app",
            ),
            models.CheckConstraint(
                condition=(models.Q(kind="function") & ~models.Q(function_name="") & models.Q(class_name=""))
                | (models.Q(kind="trigger") & models.Q(function_name="") & ~models.Q(class_name="")
                   & ~models.Q(trigger_name="")),
                name="cloudcode_webhook_kind_fields",
            ),
        ]  # fmt: skip
        ordering = ["kind", "function_name", "class_name", "trigger_name"]

    def __str__(self) -> str:
        target = self.function_name or f"{self.trigger_name}.{self.class_name}"
        return f"{self.kind} webhook {target} of app {self.app_id}"
