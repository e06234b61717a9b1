"""Messaging tables: campaigns and their deliveries, provider credentials, templates."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from tenants.models import App


class ProviderCredential(models.Model):
    """One app's credentials for one provider, encrypted at rest; only ``summary`` is ever shown."""

    class Kind(models.TextChoices):
        FCM = "fcm", "Firebase Cloud Messaging"
        APNS = "apns", "Apple Push Notification service"
        WEBPUSH = "webpush", "Web Push (VAPID)"
        TWILIO = "twilio", "Twilio SMS"
        SNS = "sns", "Amazon SNS SMS"
        SES = "ses", "Amazon SES email"
        SMTP = "smtp", "SMTP email"

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="provider_credentials")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # The validated config as JSON, encrypted with hangar.secretbox (HANGAR_ENCRYPTION_KEYS).
    ciphertext = models.TextField()
    # What may be displayed: project id, key id, team id, sender... never a secret.
    summary = models.JSONField(default=dict)
    # Bumped by every change, so each process's cached provider of the app is rebuilt.
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["app", "kind"], name="messaging_provider_credential_app_kind")]

    def __str__(self) -> str:
        return f"{self.kind} credentials of app {self.app_id}"


class LoggedMessage(models.Model):
    """What the log provider would have sent (an app without credentials for that channel); newest kept."""

    class Channel(models.TextChoices):
        PUSH = "push"
        SMS = "sms"
        EMAIL = "email"

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="logged_messages")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    recipient = models.CharField(max_length=255)
    content = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["app", "-id"], name="messaging_logged_app_newest")]

    def __str__(self) -> str:
        return f"{self.channel} to {self.recipient}"


# SMS and email: sender settings, templates and message records (their own module).
from hangar.messaging.sms_email_models import Message, MessageTemplate, SenderSettings  # noqa: E402, F401
