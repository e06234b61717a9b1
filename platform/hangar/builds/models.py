"""Build profiles, signing credentials (the vault), builds with their steps and logs, and agents."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from tenants.models import App, Developer

PLATFORM_CHOICES = [("android", "Android"), ("ios", "iOS")]


class SigningCredential(models.Model):
    """A keystore (or iOS certificate + profile), envelope-encrypted: see hangar.builds.vault.

    ``sealed`` is the secret material sealed with a per-credential data key; ``wrapped_key`` is
    that data key sealed with the key-encryption key ``kek_id`` names. Nothing here is ever returned.
    """

    class Kind(models.TextChoices):
        PKCS12 = "pkcs12", "Android keystore (PKCS12)"
        JKS = "jks", "Android keystore (JKS)"
        IOS = "ios", "iOS certificate and provisioning profile"

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="signing_credentials")
    uid = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    platform = models.CharField(max_length=10, choices=PLATFORM_CHOICES, default="android")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    alias = models.CharField(max_length=100)
    certificate_sha256 = models.CharField(max_length=64)
    certificate_subject = models.CharField(max_length=300, blank=True)
    # Non-secret facts shown back (an iOS profile's name, team, app id pattern and expiry).
    summary = models.JSONField(default=dict, blank=True)
    kek_id = models.CharField(max_length=16)
    wrapped_key = models.BinaryField()
    sealed = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now)
    rotated_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(Developer, on_delete=models.SET_NULL, null=True, related_name="+")
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["app", "name"], name="builds_credential_unique_name")]

    def __str__(self) -> str:
        return f"{self.kind} credential {self.name} of app {self.app_id}"  # never the material


class SigningCredentialUse(models.Model):
    """Every opening of a credential: which build, which agent, when (the vault's own audit trail)."""

    credential = models.ForeignKey(SigningCredential, on_delete=models.CASCADE, related_name="uses")
    build = models.ForeignKey("Build", on_delete=models.SET_NULL, null=True, related_name="+")
    purpose = models.CharField(max_length=30)
    agent = models.CharField(max_length=100, blank=True)
    at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"use of credential {self.credential_id} by build {self.build_id}"


class BuildProfile(models.Model):
    """What to build for one app and platform; icon and web bundle are kept as uploaded."""

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="build_profiles")
    name = models.CharField(max_length=100)
    platform = models.CharField(max_length=10, choices=PLATFORM_CHOICES, default="android")
    package_name = models.CharField(max_length=150)
    label = models.CharField(max_length=50)
    version_code = models.PositiveIntegerField()
    version_name = models.CharField(max_length=100)
    start_url = models.CharField(max_length=2000, blank=True)
    # "apk" (installable) or "aab" (an Android App Bundle for Google Play).
    artifact_format = models.CharField(max_length=3, default="apk")
    icon_png = models.BinaryField()
    web_bundle = models.BinaryField(null=True, blank=True)
    credential = models.ForeignKey(SigningCredential, on_delete=models.PROTECT, null=True, related_name="profiles")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["app", "platform", "name"], name="builds_profile_unique_name")]

    def __str__(self) -> str:
        return f"{self.platform} profile {self.name} of app {self.app_id}"


class Build(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"
        TIMED_OUT = "timed_out"

    FINAL_STATES = ("succeeded", "failed", "cancelled", "timed_out")

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="builds")
    uid = models.CharField(max_length=32, unique=True)
    number = models.PositiveIntegerField()
    platform = models.CharField(max_length=10, choices=PLATFORM_CHOICES)
    profile = models.ForeignKey(BuildProfile, on_delete=models.SET_NULL, null=True, related_name="builds")
    credential = models.ForeignKey(SigningCredential, on_delete=models.SET_NULL, null=True, related_name="builds")
    # The profile as it was at request time (a later edit does not change a queued build).
    spec = models.JSONField(default=dict)
    # The inputs as they were at request time; the bundle is dropped when the build ends.
    icon_png = models.BinaryField()
    web_bundle = models.BinaryField(null=True, blank=True)
    state = models.CharField(max_length=12, choices=State.choices, default=State.QUEUED)
    cancel_requested = models.BooleanField(default=False)
    attempt = models.PositiveSmallIntegerField(default=0)
    timeout_seconds = models.PositiveIntegerField()
    requested_by = models.ForeignKey(Developer, on_delete=models.SET_NULL, null=True, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    agent = models.CharField(max_length=100, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    error_code = models.CharField(max_length=40, blank=True)
    error_message = models.TextField(blank=True)
    artifact_key = models.CharField(max_length=300, blank=True)
    artifact_backend = models.CharField(max_length=200, blank=True)
    artifact_size = models.BigIntegerField(null=True, blank=True)
    artifact_sha256 = models.CharField(max_length=64, blank=True)
    signer_sha256 = models.CharField(max_length=64, blank=True)
    report = models.JSONField(default=dict, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["app", "number"], name="builds_build_unique_number")]
        indexes = [
            models.Index(fields=["platform", "state", "requested_at"]),
            models.Index(fields=["app", "-number"]),
        ]

    def __str__(self) -> str:
        return f"build {self.number} of app {self.app_id} ({self.state})"

    @property
    def credential_name(self) -> str:
        return self.credential.name if self.credential is not None else ""

    @property
    def is_final(self) -> bool:
        return self.state in self.FINAL_STATES


class BuildStep(models.Model):
    build = models.ForeignKey(Build, on_delete=models.CASCADE, related_name="steps")
    attempt = models.PositiveSmallIntegerField(default=1)
    name = models.CharField(max_length=40)
    state = models.CharField(max_length=12)
    detail = models.TextField(blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} of build {self.build_id}: {self.state}"


class BuildLogLine(models.Model):
    build = models.ForeignKey(Build, on_delete=models.CASCADE, related_name="log_lines")
    seq = models.PositiveIntegerField()
    step = models.CharField(max_length=40)
    text = models.TextField()
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["build", "seq"], name="builds_log_unique_seq")]

    def __str__(self) -> str:
        return f"line {self.seq} of build {self.build_id}"


class BuildAgent(models.Model):
    """A build agent outside the platform's workers; only its token's digest is stored."""

    name = models.CharField(max_length=100, unique=True)
    token_digest = models.CharField(max_length=64, unique=True)
    platforms = models.JSONField(default=list)
    capabilities = models.JSONField(default=dict, blank=True)
    registered_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    enabled = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.name
