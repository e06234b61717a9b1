"""Writes and reads of an app's provider credentials and of the log provider's records.

The app is always given (the management API and the dashboard resolve and authorize it);
secrets leave this module only decrypted for ``hangar.messaging.providers``, never in a row
meant for display.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F

from hangar.invalidation import publish_app_changed_on_commit
from hangar.messaging.credentials import KINDS, credential_config_checked
from hangar.messaging.models import LoggedMessage, ProviderCredential
from hangar.secretbox import decrypt_secret, encrypt_secret
from tenants.models import App, Developer


@dataclass(frozen=True)
class ProviderCredentialRow:
    """What may be shown of one kind: never a secret."""

    kind: str
    configured: bool
    summary: dict[str, Any]
    updated_at: datetime | None
    updated_by: str


def provider_credential_set(*, app: App, kind: str, raw: Any, actor: Developer | None) -> ProviderCredential:
    """Check, encrypt and store ``kind``'s config for ``app`` (replacing any); ``CredentialConfigError`` if unusable."""
    config, summary = credential_config_checked(kind, raw)
    ciphertext = encrypt_secret(json.dumps(config))
    with transaction.atomic():
        credential, created = ProviderCredential.objects.select_for_update().get_or_create(
            app=app, kind=kind, defaults={"ciphertext": ciphertext, "summary": summary, "updated_by": actor}
        )
        if not created:
            credential.ciphertext, credential.summary, credential.updated_by = ciphertext, summary, actor
            credential.version = F("version") + 1
            credential.save(update_fields=["ciphertext", "summary", "updated_by", "version", "updated_at"])
            credential.refresh_from_db(fields=["version"])
        publish_app_changed_on_commit(app.application_id)
    return credential


def provider_credential_delete(*, app: App, kind: str) -> bool:
    """Forget ``kind``'s credentials; the app falls back to the log provider (or the operator's SMTP)."""
    with transaction.atomic():
        deleted, _ = ProviderCredential.objects.filter(app=app, kind=kind).delete()
        if deleted:
            publish_app_changed_on_commit(app.application_id)
    return bool(deleted)


def provider_credential_list(*, app: App) -> list[ProviderCredentialRow]:
    """Every kind, configured or not, with its displayable summary."""
    stored = {c.kind: c for c in ProviderCredential.objects.filter(app=app).select_related("updated_by")}
    rows = []
    for kind in KINDS:
        credential = stored.get(kind)
        rows.append(
            ProviderCredentialRow(
                kind=kind,
                configured=credential is not None,
                summary=dict(credential.summary) if credential else {},
                updated_at=credential.updated_at if credential else None,
                updated_by=credential.updated_by.email if credential and credential.updated_by else "",
            )
        )
    return rows


async def provider_versions(*, app_pk: int) -> dict[str, int]:
    """kind -> version of the app's stored credentials: one indexed read, to check cached providers."""
    rows = ProviderCredential.objects.filter(app_id=app_pk).values_list("kind", "version")
    return {kind: version async for kind, version in rows}


async def provider_config(*, app_pk: int, kind: str) -> tuple[int, dict[str, Any]] | None:
    """(version, decrypted config) of one kind, None when the app has none."""
    credential = (
        await ProviderCredential.objects.filter(app_id=app_pk, kind=kind).only("ciphertext", "version").afirst()
    )
    if credential is None:
        return None
    return credential.version, json.loads(decrypt_secret(credential.ciphertext))


async def logged_message_record(*, app_pk: int, channel: str, recipient: str, content: dict[str, Any]) -> None:
    """Keep what the log provider would have sent; only the newest HANGAR_MESSAGING_LOG_KEEP per app stay."""
    message = await LoggedMessage.objects.acreate(
        app_id=app_pk, channel=channel, recipient=recipient[:255], content=content
    )
    keep = int(settings.HANGAR_MESSAGING_LOG_KEEP)
    if message.pk % 50 == 0:  # trim now and then, not on every message
        cutoff = await (
            LoggedMessage.objects.filter(app_id=app_pk)
            .order_by("-id")
            .values_list("id", flat=True)[keep : keep + 1]
            .afirst()
        )
        if cutoff is not None:
            await LoggedMessage.objects.filter(app_id=app_pk, id__lte=cutoff).adelete()


def logged_message_list(*, app: App, limit: int = 100, channel: str | None = None) -> list[LoggedMessage]:
    """The newest records first."""
    rows = LoggedMessage.objects.filter(app=app)
    if channel:
        rows = rows.filter(channel=channel)
    return list(rows.order_by("-id")[: max(1, min(limit, int(settings.HANGAR_MESSAGING_LOG_KEEP)))])
