"""What every messaging provider adapter promises, and the outcome of one delivery.

An adapter speaks one vendor's protocol through ``hangar.egress`` (never a connection of its
own) and turns every answer into a ``DeliveryOutcome``: the campaign engine decides from
``kind`` alone whether to count, retry, or forget a device token, so vendor error codes stay
inside the adapter. Adapters know nothing of apps, campaigns or the datastore: they are built
from one app's decrypted credentials (``hangar.messaging.providers``) and given only what
they send.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


class OutcomeKind(enum.Enum):
    SENT = "sent"
    # The provider says the token or address will never work again (FCM UNREGISTERED,
    # APNs 410, Web Push 404/410): the engine removes the installation's token.
    INVALID_TOKEN = "invalid_token"  # noqa: S105 (an outcome, not a password)
    # Worth another try later (a 429, a 5xx, a timeout, a dropped connection).
    RETRY = "retry"
    # Will fail the same way again (a 400 for this payload, bad credentials): counted as failed.
    FAILED = "failed"


@dataclass(frozen=True)
class DeliveryOutcome:
    kind: OutcomeKind
    # A short, stable reason for counts per error ("UNREGISTERED", "BadDeviceToken", "smtp 550").
    error: str | None = None
    # From the provider's Retry-After, when it gave one.
    retry_after_seconds: float | None = None
    # The provider's id of the accepted message, when it returns one.
    provider_message_id: str | None = None

    @classmethod
    def sent(cls, provider_message_id: str | None = None) -> DeliveryOutcome:
        return cls(OutcomeKind.SENT, provider_message_id=provider_message_id)


@dataclass(frozen=True)
class PushTarget:
    """One installation a notification goes to."""

    installation_object_id: str
    device_type: str  # "ios", "android", "web", ... as stored on _Installation
    device_token: str  # for "web": the JSON PushSubscription {endpoint, keys:{p256dh, auth}}
    push_type: str | None = None  # _Installation.pushType ("gcm" for FCM on Android)
    app_identifier: str | None = None  # the APNs topic (bundle id)
    badge: int | None = None  # the badge to send to this installation (after an Increment)
    # The engine's delivery record id: the same on every send of this message to this installation,
    # so a resend after a crash collapses at the provider (derive apns-id / apns-collapse-id and
    # FCM's collapse_key from it). "" outside the campaign engine.
    delivery_id: str = ""


@dataclass(frozen=True)
class PushNotification:
    """What a campaign sends, the same for all its targets but the badge."""

    data: dict[str, Any]  # Parse's push `data`: alert, title, sound, content-available, category, uri, custom keys
    expiration: datetime | None = None  # not delivered after this instant (aware, UTC)
    push_id: str = ""  # the campaign's _PushStatus objectId: a collapse / idempotency id for the provider
    priority_high: bool = True


class PushProvider(Protocol):
    """Sends pushes for the device types it serves."""

    name: str  # "fcm", "apns", "webpush", "log"

    async def send_push(self, notification: PushNotification, targets: list[PushTarget]) -> list[DeliveryOutcome]:
        """One outcome per target, in order. Never raises for a target's failure."""
        ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class SmsMessage:
    to: str  # E.164, "+14155550100"
    body: str
    sender: str = ""  # a number or an alphanumeric sender id; "" for the provider's default


class SmsProvider(Protocol):
    name: str  # "twilio", "sns", "log"

    async def send_sms(self, message: SmsMessage) -> DeliveryOutcome: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class EmailMessage:
    to: list[str]
    subject: str
    text: str
    html: str | None = None
    sender: str = ""  # "Name <addr>"; "" for the app's configured sender
    reply_to: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


class EmailProvider(Protocol):
    name: str  # "smtp", "ses", "log"

    async def send_email(self, message: EmailMessage) -> DeliveryOutcome: ...

    async def aclose(self) -> None: ...
