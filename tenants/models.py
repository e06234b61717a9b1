"""Developer accounts, organizations, members, apps, keys, plans and the audit log."""

from __future__ import annotations

from typing import ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from tenants.roles import ROLE_CHOICES, Role


class DeveloperManager(BaseUserManager["Developer"]):
    def create_user(self, email: str, password: str | None = None, **extra: object) -> Developer:
        developer = self.model(email=self.normalize_email(email), **extra)
        developer.set_password(password)
        developer.save(using=self._db)
        return developer

    def get_by_natural_key(self, username: str | None) -> Developer:
        # Emails are unique case-insensitively, so sign-in matches them that way too.
        return self.get(email__iexact=username)

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> Developer:
        return self.create_user(email, password, is_staff=True, is_superuser=True, **extra)


class Developer(AbstractBaseUser, PermissionsMixin):
    """A person who signs in to the dashboard; identified by email (unique, case-insensitively)."""

    email = models.EmailField(max_length=254, unique=True)
    name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = DeveloperManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="tenants_developer_email_ci_unique")]

    def __str__(self) -> str:
        return self.email


class PersonalAccessToken(models.Model):
    """A bearer token for the CLI and the management API; only its SHA-256 digest is stored."""

    developer = models.ForeignKey(Developer, on_delete=models.CASCADE, related_name="tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    # Never empty: a token that never expires outlives the laptop or CI job it was made for.
    expires_at = models.DateTimeField()
    # Scope (tenants.token_scopes): a read-only token only reads; an organization's token reaches
    # only that organization. Defaults are a full token for every organization of its developer.
    read_only = models.BooleanField(default=False)
    organization = models.ForeignKey("Organization", on_delete=models.CASCADE, null=True, blank=True, related_name="+")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class DeveloperTotp(models.Model):
    """A developer's TOTP second factor (RFC 6238); in force once ``confirmed_at`` is set."""

    developer = models.OneToOneField(Developer, on_delete=models.CASCADE, primary_key=True, related_name="totp")
    secret_ciphertext = models.TextField()  # hangar.secretbox, never stored in plain text
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # The last time step accepted: a code is good once, so a code seen over a shoulder cannot be replayed.
    last_step = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"TOTP of developer {self.developer_id}"


class RecoveryCode(models.Model):
    """A one-time code that stands in for the TOTP code when the phone is lost; only its digest is stored."""

    developer = models.ForeignKey(Developer, on_delete=models.CASCADE, related_name="recovery_codes")
    digest = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"recovery code of developer {self.developer_id}"


class Plan(models.Model):
    """Limits that apply to every app of an organization on this plan."""

    name = models.CharField(max_length=50, unique=True)
    requests_per_second = models.PositiveIntegerField(help_text="Per app; 0 means unlimited.")
    max_apps = models.PositiveIntegerField(default=0, help_text="Per organization; 0 means unlimited.")
    storage_quota_bytes = models.PositiveBigIntegerField(
        default=0, help_text="File storage per app, in bytes; 0 means unlimited."
    )
    max_live_connections = models.PositiveIntegerField(
        default=0, help_text="LiveQuery WebSocket connections per app, over all processes; 0 means unlimited."
    )
    # The longest deadline an app on this plan may give its cloud functions and triggers (docs/cloudcode.md);
    # empty: the platform's HANGAR_CLOUD_*_TIMEOUT_MAX_SECONDS.
    cloud_function_timeout_max_seconds = models.FloatField(null=True, blank=True)
    cloud_trigger_timeout_max_seconds = models.FloatField(null=True, blank=True)
    # Metering and quotas (hangar.analytics, docs/analytics.md).
    monthly_requests = models.PositiveBigIntegerField(
        default=0, help_text="Parse API requests per app per calendar month (UTC); 0 means unlimited."
    )
    monthly_function_invocations = models.PositiveBigIntegerField(
        default=0, help_text="Cloud-code invocations (functions, triggers, jobs) per app per month; 0 means unlimited."
    )
    event_retention_days = models.PositiveIntegerField(
        default=0, help_text="Days raw analytics events are kept; 0 means HANGAR_ANALYTICS_RETENTION_DAYS."
    )
    # Native builds (docs/builds.md); empty: HANGAR_BUILDS_APP_CONCURRENCY and HANGAR_BUILDS_RETENTION_DAYS.
    max_concurrent_builds = models.PositiveIntegerField(null=True, blank=True, help_text="Running builds per app.")
    build_retention_days = models.FloatField(null=True, blank=True, help_text="Days artifacts and logs are kept.")

    def __str__(self) -> str:
        return self.name


class Organization(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=120, unique=True)
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    developer = models.ForeignKey(Developer, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=ROLE_CHOICES, default=Role.DEVELOPER.value)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "developer"], name="tenants_membership_unique")]

    def __str__(self) -> str:
        return f"{self.developer} in {self.organization} as {self.role}"


class Invitation(models.Model):
    """An emailed, expiring, single-use invitation; only the token's digest is stored."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(max_length=254)
    role = models.CharField(max_length=20, choices=ROLE_CHOICES, default=Role.DEVELOPER.value)
    digest = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(Developer, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"invitation of {self.email} to {self.organization_id}"

    def is_open(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > timezone.now()


class App(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        DELETING = "deleting"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="apps")
    name = models.CharField(max_length=100)
    application_id = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    rate_limit_rps = models.PositiveIntegerField(
        null=True, blank=True, help_text="Overrides the plan's requests per second; 0 means unlimited."
    )
    live_query_classes = models.JSONField(
        default=list, blank=True,
        help_text="Classes LiveQuery clients may subscribe to (Parse's liveQuery.classNames); empty means all.",
    )  # fmt: skip
    allow_client_class_creation = models.BooleanField(
        default=False, help_text="Clients (not only the master key) may create a class by saving to it."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(Developer, on_delete=models.SET_NULL, null=True, related_name="+")

    def __str__(self) -> str:
        return self.name


class AppKey(models.Model):
    """One Parse key of an app, encrypted at rest (hangar.secretbox); never stored in plain text."""

    class Kind(models.TextChoices):
        CLIENT = "client", "Client key"
        JAVASCRIPT = "javascript", "JavaScript key"
        REST = "rest", "REST API key"
        DOTNET = "dotnet", ".NET key"
        MASTER = "master", "Master key"

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="keys")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    ciphertext = models.TextField()
    rotated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["app", "kind"], name="tenants_appkey_unique_kind")]

    def __str__(self) -> str:
        return f"{self.kind} key of app {self.app_id}"  # never the key itself


class AuditEvent(models.Model):
    """Who did what, when. Keeps its own copies of names so it outlives what it describes."""

    organization = models.ForeignKey(Organization, on_delete=models.SET_NULL, null=True, related_name="audit_events")
    actor = models.ForeignKey(Developer, on_delete=models.SET_NULL, null=True, related_name="+")
    actor_email = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=32)
    target_id = models.CharField(max_length=64)
    target_name = models.CharField(max_length=200, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_email} {self.action} {self.target_name}"


class DataImportJob(models.Model):
    """A dashboard import of a class (tenants.data_import): its file until it ends, then its outcome.

    Progress (rows handled, created, refused) is written once per batch, in one UPDATE, so a
    worker killed mid-batch leaves the last batch's figures, and the run that resumes the job
    redoes the rows after them (the objects get deterministic objectIds: no duplicates).
    """

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    public_id = models.CharField(max_length=16, unique=True)  # in the status page's URL; not guessable
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="data_import_jobs")
    class_name = models.CharField(max_length=128)
    is_csv = models.BooleanField(default=False)
    # The uploaded file (at most data_import.IMPORT_MAX_BYTES), kept until the job ends so a
    # redelivered task can parse it again and resume; emptied once the job is done or failed.
    content = models.BinaryField(default=bytes)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)  # rows handled (created or refused), a whole batch at a time
    created = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)  # "row N: message", the first data_import.ERRORS_KEPT
    error_count = models.PositiveIntegerField(default=0)
    fatal = models.TextField(blank=True)
    rolled_back = models.PositiveIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)  # runs started: more than one means a worker was lost
    started_by = models.ForeignKey(Developer, on_delete=models.SET_NULL, null=True, related_name="+")
    started_at = models.DateTimeField(default=timezone.now)
    heartbeat_at = models.DateTimeField(null=True, blank=True)  # the running worker's last sign of life
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["app", "-started_at"])]

    def __str__(self) -> str:
        return f"import {self.public_id} into {self.class_name} ({self.status})"

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, round(100 * self.done / self.total))

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def silent_seconds(self) -> int:
        """How long a running job's worker has not reported (0 when not running): the page says it is waiting."""
        if self.status != self.Status.RUNNING or self.heartbeat_at is None:
            return 0
        return int((timezone.now() - self.heartbeat_at).total_seconds())
