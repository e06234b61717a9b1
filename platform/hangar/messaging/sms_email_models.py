"""SMS and email of an app: its sender settings, its templates, and one record per message sent.

A ``Message`` is written before anything is sent and claimed (``queued`` → ``sending``) by the
delivery task in one conditional update before the provider is called: its id is the send's
idempotency key, so a task delivered twice finds the record claimed and sends nothing
(hangar.messaging.sends, docs/messaging.md "SMS and email").
"""

from __future__ import annotations

from django.db import models


class Channel(models.TextChoices):
    SMS = "sms", "SMS"
    EMAIL = "email", "Email"


class SenderSettings(models.Model):
    """Who an app's messages come from (the provider's credentials are elsewhere: hangar.messaging.providers)."""

    app = models.OneToOneField(
        "tenants.App", on_delete=models.CASCADE, primary_key=True, related_name="sender_settings"
    )
    email_from_name = models.CharField(max_length=100, blank=True, default="")
    email_from_address = models.EmailField(blank=True, default="")
    email_reply_to = models.EmailField(blank=True, default="")
    sms_sender_id = models.CharField(
        max_length=20, blank=True, default="", help_text="A phone number (E.164) or an alphanumeric sender id."
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"sender settings of app {self.app_id}"


class MessageTemplate(models.Model):
    """A Django template of one app: ``subject``, ``text`` and ``html`` for email, ``text`` for SMS."""

    app = models.ForeignKey("tenants.App", on_delete=models.CASCADE, related_name="message_templates")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    name = models.CharField(max_length=100)
    subject = models.CharField(max_length=500, blank=True, default="")
    text = models.TextField(blank=True, default="")
    html = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["app", "channel", "name"], name="messaging_template_unique_name")
        ]
        ordering = ["channel", "name"]

    def __str__(self) -> str:
        return f"{self.channel} template {self.name} of app {self.app_id}"


class MessageStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"  # claimed by a delivery task; the provider is being called
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class Message(models.Model):
    """One SMS or email, from its request to the provider's answer."""

    app = models.ForeignKey("tenants.App", on_delete=models.CASCADE, related_name="messages")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    source = models.CharField(max_length=16, default="api")  # api | cloud | identity | mfa
    # A caller's own key (identity's mails, MFA codes): a second request with it is the same message.
    idempotency_key = models.CharField(max_length=200, blank=True, default="")
    to = models.JSONField(default=list)  # addresses (email) or one E.164 number (SMS)
    sender = models.CharField(max_length=300, blank=True, default="")
    reply_to = models.CharField(max_length=300, blank=True, default="")
    template_name = models.CharField(max_length=100, blank=True, default="")
    subject = models.CharField(max_length=500, blank=True, default="")
    text = models.TextField(blank=True, default="")
    html = models.TextField(blank=True, default="")
    # A message carrying a secret (a sign-in code, a password-reset link): its body is erased once
    # delivered or failed, and never shown by any API.
    sensitive = models.BooleanField(default=False)
    status = models.CharField(max_length=8, choices=MessageStatus.choices, default=MessageStatus.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    provider = models.CharField(max_length=32, blank=True, default="")
    provider_message_id = models.CharField(max_length=200, blank=True, default="")
    error = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["app", "idempotency_key"], name="messaging_message_unique_key",
                condition=~models.Q(idempotency_key=""),
            ),
        ]  # fmt: skip
        indexes = [models.Index(fields=["app", "-created_at"], name="messaging_message_app_recent")]

    def __str__(self) -> str:
        return f"{self.channel} message {self.pk} of app {self.app_id} ({self.status})"
