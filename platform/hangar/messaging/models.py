"""Messaging tables: campaigns and their deliveries, provider credentials, templates."""

from __future__ import annotations

from django.db import models

from tenants.models import App


class DeliveryState(models.TextChoices):
    QUEUED = "queued"  # waiting for its due time, or for another try
    SENDING = "sending"  # claimed by a batch task: handed to the provider, outcome not yet recorded
    SENT = "sent"
    FAILED = "failed"
    INVALID = "invalid"  # the provider said the token will never work again; the token was removed


class PushDelivery(models.Model):
    """One installation's delivery of one push campaign: the unit of exactly-once.

    A row is written once per (app, campaign, installation) whatever happens to the workers
    (the unique constraint), claimed (queued → sending) in a committed transaction before the
    provider is called, and marked with the outcome after. Its id is the collapse /
    idempotency id given to the provider, so a resend of a claimed-but-unknown row is the
    same message to the provider (docs/messaging.md, "Delivery"). The data plane reads and
    writes it under row-level security (migration 0002).
    """

    id = models.BigAutoField(primary_key=True)
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="+", db_index=False)
    campaign_id = models.CharField(max_length=32)  # the _PushStatus objectId
    installation_id = models.CharField(max_length=32)  # the _Installation objectId
    device_type = models.CharField(max_length=32)
    push_type = models.CharField(max_length=32, blank=True, default="")
    device_token = models.TextField()  # the token it goes to, as read when the campaign was resolved
    app_identifier = models.CharField(max_length=255, blank=True, default="")
    locale = models.CharField(max_length=64, blank=True, default="")
    utc_offset = models.CharField(max_length=8, blank=True, default="")  # hours, for a local-time send's counts
    badge = models.IntegerField(null=True)  # set once, when claimed, for a badge Increment
    state = models.CharField(max_length=8, choices=DeliveryState.choices, default=DeliveryState.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=200, blank=True, default="")
    due_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True)
    enqueued_at = models.DateTimeField(null=True)  # when a batch task for it was last queued
    claimed_by = models.CharField(max_length=64, blank=True, default="")  # the Celery task id holding it
    claimed_at = models.DateTimeField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["app", "campaign_id", "installation_id"], name="messaging_delivery_once_per_installation"
            )
        ]
        indexes = [
            models.Index(fields=["app", "campaign_id", "state"], name="messaging_delivery_state"),
            models.Index(
                fields=["due_at"], name="messaging_delivery_due", condition=models.Q(state=DeliveryState.QUEUED)
            ),
            models.Index(
                fields=["claimed_at"],
                name="messaging_delivery_claimed",
                condition=models.Q(state=DeliveryState.SENDING),
            ),
        ]

    def __str__(self) -> str:
        return f"delivery {self.pk} of campaign {self.campaign_id} to {self.installation_id}"


class PushCampaignRun(models.Model):
    """The engine's progress through one campaign: how far its installations have been resolved.

    The campaign itself is the app's ``_PushStatus`` row; this row only holds what the engine
    needs to resume after a crash: the keyset cursor (the last installation objectId written
    as deliveries) and a lease, so that two workers never resolve the same campaign at once.
    """

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="+", db_index=False)
    campaign_id = models.CharField(max_length=32)
    cursor = models.CharField(max_length=32, blank=True, default="")
    resolved = models.BooleanField(default=False)
    lease_owner = models.CharField(max_length=64, blank=True, default="")
    lease_until = models.DateTimeField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["app", "campaign_id"], name="messaging_campaign_run_once")]

    def __str__(self) -> str:
        return f"run of campaign {self.campaign_id} (app {self.app_id})"
