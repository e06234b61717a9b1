"""Which provider sends an app's pushes, SMS and email (the contract the engine and the senders call).

An app's stored credentials decide (``ProviderCredential``); without credentials for a
channel it gets the log provider, which records what would have been sent, so these never
return None. Providers are built once per app and credential version and reused: every call
reads the versions (one indexed query), and a changed or deleted credential's provider is
closed and rebuilt, in every process, on its next use.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from hangar.egress import egress_check
from hangar.messaging.adapters.apns import PRODUCTION_URL, SANDBOX_URL, ApnsPushProvider
from hangar.messaging.adapters.base import EmailProvider, PushProvider, SmsProvider
from hangar.messaging.adapters.fcm import FcmPushProvider
from hangar.messaging.adapters.log import LogProvider
from hangar.messaging.adapters.ses import SesEmailProvider
from hangar.messaging.adapters.smtp import SmtpEmailProvider
from hangar.messaging.adapters.sns import SnsSmsProvider
from hangar.messaging.adapters.twilio import TwilioSmsProvider
from hangar.messaging.adapters.webpush import WebPushProvider
from hangar.messaging.credentials import EMAIL_KINDS, SMS_KINDS
from hangar.messaging.provider_credentials import logged_message_record, provider_config, provider_versions

Provider = Any  # a PushProvider, SmsProvider or EmailProvider: all have ``aclose``

# (app_pk, kind) -> (credential version, provider)
_built: dict[tuple[int, str], tuple[int, Provider]] = {}
_log_providers: dict[int, LogProvider] = {}
_operator_smtp: SmtpEmailProvider | None = None


def push_kind_for(device_type: str, push_type: str | None) -> str | None:
    """The provider kind that reaches an installation (Parse's deviceType and pushType)."""
    if push_type in ("gcm", "fcm"):
        return "fcm"  # an FCM registration token, whatever the platform
    return {"ios": "apns", "tvos": "apns", "osx": "apns", "android": "fcm", "web": "webpush"}.get(device_type)


async def push_provider_for(*, app_pk: int, device_type: str, push_type: str | None) -> PushProvider:
    kind = push_kind_for(device_type, push_type)
    versions = await _current_versions(app_pk)
    if kind is not None and kind in versions:
        return await _provider(app_pk, kind, versions[kind])
    return _log_provider(app_pk)


async def sms_provider_for(*, app_pk: int) -> SmsProvider:
    versions = await _current_versions(app_pk)
    for kind in SMS_KINDS:
        if kind in versions:
            return await _provider(app_pk, kind, versions[kind])
    return _log_provider(app_pk)


async def email_provider_for(*, app_pk: int) -> EmailProvider:
    versions = await _current_versions(app_pk)
    for kind in EMAIL_KINDS:
        if kind in versions:
            return await _provider(app_pk, kind, versions[kind])
    if settings.EMAIL_HOST:
        return _operator_smtp_provider()
    return _log_provider(app_pk)


async def _current_versions(app_pk: int) -> dict[str, int]:
    """The stored versions; providers of credentials that changed or went away are closed."""
    versions = await provider_versions(app_pk=app_pk)
    for key in [key for key in _built if key[0] == app_pk]:
        if versions.get(key[1]) != _built[key][0]:
            await _built.pop(key)[1].aclose()
    return versions


async def _provider(app_pk: int, kind: str, version: int) -> Provider:
    cached = _built.get((app_pk, kind))
    if cached is not None and cached[0] == version:
        return cached[1]
    stored = await provider_config(app_pk=app_pk, kind=kind)
    if stored is None:  # deleted since the versions were read
        return _log_provider(app_pk)
    version, config = stored
    provider = _built_provider(kind, config)
    previous = _built.get((app_pk, kind))
    _built[(app_pk, kind)] = (version, provider)
    if previous is not None:
        await previous[1].aclose()
    return provider


def _built_provider(kind: str, config: dict[str, Any]) -> Provider:
    concurrency = int(settings.HANGAR_PUSH_CONCURRENCY)
    timeout = float(settings.HANGAR_EGRESS_TIMEOUT_SECONDS)
    if kind == "fcm":
        return FcmPushProvider(
            service_account=config["service_account"], base_url=config.get("base_url") or settings.HANGAR_FCM_BASE_URL,
            concurrency=concurrency,
        )  # fmt: skip
    if kind == "apns":
        default = settings.HANGAR_APNS_BASE_URL or (PRODUCTION_URL if config.get("production", True) else SANDBOX_URL)
        return ApnsPushProvider(
            key_pem=config["key"], key_id=config["key_id"], team_id=config["team_id"], topic=config.get("topic", ""),
            base_url=config.get("base_url") or default, concurrency=concurrency,
        )  # fmt: skip
    if kind == "webpush":
        return WebPushProvider(private_key=config["private_key"], subject=config["subject"], concurrency=concurrency)
    if kind == "twilio":
        return TwilioSmsProvider(
            account_sid=config["account_sid"], auth_token=config["auth_token"], sender=config.get("sender", ""),
            messaging_service_sid=config.get("messaging_service_sid", ""), api_key_sid=config.get("api_key_sid", ""),
            base_url=config.get("base_url") or settings.HANGAR_TWILIO_BASE_URL,
        )  # fmt: skip
    aws = {
        "access_key_id": config.get("access_key_id", ""), "secret_access_key": config.get("secret_access_key", ""),
        "region": config.get("region", ""), "endpoint_url": settings.HANGAR_AWS_ENDPOINT_URL,
        "proxy": settings.HANGAR_EGRESS_PROXY, "timeout": timeout,
    }  # fmt: skip
    if kind == "sns":
        return SnsSmsProvider(
            **aws, sender_id=config.get("sender_id", ""), sms_type=config.get("sms_type", "Transactional")
        )
    if kind == "ses":
        return SesEmailProvider(**aws, sender=config["sender"])
    if kind == "smtp":
        return SmtpEmailProvider(
            host=config["host"], port=int(config["port"]), sender=config["sender"], username=config.get("username", ""),
            password=config.get("password", ""), security=config.get("security", "starttls"), timeout=timeout,
            host_check=_smtp_host_check,
        )  # fmt: skip
    raise ValueError(f"unknown provider kind {kind!r}")


async def _smtp_host_check(host: str, port: int) -> None:
    """An app's SMTP server must pass the egress policy (domain allowlist, no internal addresses)."""
    await egress_check(f"https://{host}:{port}/")


def _operator_smtp_provider() -> SmtpEmailProvider:
    global _operator_smtp
    if _operator_smtp is None:
        security = "tls" if settings.EMAIL_USE_SSL else "starttls" if settings.EMAIL_USE_TLS else "none"
        _operator_smtp = SmtpEmailProvider(
            host=str(settings.EMAIL_HOST), port=int(settings.EMAIL_PORT), sender=str(settings.DEFAULT_FROM_EMAIL),
            username=settings.EMAIL_HOST_USER, password=settings.EMAIL_HOST_PASSWORD, security=security,
            timeout=float(settings.EMAIL_TIMEOUT or 10),
        )  # fmt: skip
    return _operator_smtp


def _log_provider(app_pk: int) -> LogProvider:
    provider = _log_providers.get(app_pk)
    if provider is None:

        async def record(channel: str, recipient: str, content: dict[str, Any]) -> None:
            await logged_message_record(app_pk=app_pk, channel=channel, recipient=recipient, content=content)

        provider = _log_providers[app_pk] = LogProvider(recorder=record)
    return provider
