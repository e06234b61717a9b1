"""Each provider kind's credentials: what an app must give, checked before it is stored.

``credential_config_checked(kind, raw)`` parses what the management API or the dashboard
received (a service-account JSON, a .p8 PEM, VAPID keys...) into the config that is
encrypted at rest, and the non-secret summary shown back. Nothing here touches the database.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from hangar.messaging.adapters.vapid import public_key_b64url, vapid_private_key

KINDS = ("fcm", "apns", "webpush", "twilio", "sns", "ses", "smtp")
PUSH_KINDS = ("fcm", "apns", "webpush")
SMS_KINDS = ("twilio", "sns")
EMAIL_KINDS = ("smtp", "ses")

_APPLE_ID = re.compile(r"^[A-Z0-9]{10}$")
_BUNDLE_ID = re.compile(r"^[A-Za-z0-9.-]{1,155}$")
_TWILIO_SID = {
    "AC": re.compile(r"^AC[0-9a-f]{32}$"),
    "SK": re.compile(r"^SK[0-9a-f]{32}$"),
    "MG": re.compile(r"^MG[0-9a-f]{32}$"),
}
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_ALPHANUMERIC_SENDER = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$")
_AWS_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
_AWS_KEY_ID = re.compile(r"^[A-Z0-9]{16,128}$")
_EMAIL = re.compile(r"^(?:[^<>@\s]+ )*<?[^<>@\s]+@[^<>@\s]+\.[^<>@\s]+>?$")
_HOST = re.compile(r"^[A-Za-z0-9.-]{1,253}$|^\[[0-9A-Fa-f:.]+\]$")
_MAX_FIELD = 16384


class CredentialConfigError(ValueError):
    """The config of a kind is missing something or is not what the provider issues."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


def credential_config_checked(kind: str, raw: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(config to encrypt, summary to display) for ``raw``; ``CredentialConfigError`` when it is not usable."""
    checker = _CHECKERS.get(kind)
    if checker is None:
        raise CredentialConfigError(f"Unknown provider kind {kind!r}; one of {', '.join(KINDS)}.", field="kind")
    if not isinstance(raw, dict):
        raise CredentialConfigError("The config must be an object.", field="config")
    return checker(raw)


def _text(raw: dict[str, Any], name: str, *, required: bool = True, default: str = "") -> str:
    value = raw.get(name, default)
    if value is None:
        value = default
    if not isinstance(value, str) or len(value) > _MAX_FIELD or "\x00" in value:
        raise CredentialConfigError(f"{name} must be a string of at most {_MAX_FIELD} characters.", field=name)
    value = value.strip()
    if required and not value:
        raise CredentialConfigError(f"{name} is required.", field=name)
    return value


def _matching(raw: dict[str, Any], name: str, pattern: re.Pattern[str], what: str, *, required: bool = True) -> str:
    value = _text(raw, name, required=required)
    if value and not pattern.match(value):
        raise CredentialConfigError(f"{name} must be {what}.", field=name)
    return value


def _url(raw: dict[str, Any], name: str) -> str:
    """An optional provider URL (a local or regional endpoint); egress still judges it on every call."""
    value = _text(raw, name, required=False)
    if value:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
            raise CredentialConfigError(f"{name} must be an http(s) URL without credentials.", field=name)
    return value.rstrip("/")


def _masked(value: str) -> str:
    return f"…{value[-4:]}" if len(value) > 4 else "…"


def _fcm(raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    account = raw.get("service_account")
    if isinstance(account, str):
        try:
            account = json.loads(account)
        except ValueError as exc:
            raise CredentialConfigError("service_account is not JSON.", field="service_account") from exc
    if not isinstance(account, dict):
        raise CredentialConfigError(
            "service_account must be the service account's JSON key file.", field="service_account"
        )
    if account.get("type", "service_account") != "service_account":
        raise CredentialConfigError("service_account must be of type service_account.", field="service_account")
    fields = {name: _text(account, name) for name in ("project_id", "client_email", "private_key")}
    try:
        key = serialization.load_pem_private_key(fields["private_key"].encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise CredentialConfigError("private_key is not a PEM private key.", field="service_account") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CredentialConfigError("private_key must be an RSA key.", field="service_account")
    token_uri = _url(account, "token_uri") or "https://oauth2.googleapis.com/token"
    config = {
        "service_account": {
            **fields,
            "token_uri": token_uri,
            "private_key_id": _text(account, "private_key_id", required=False),
        },
        "base_url": _url(raw, "base_url"),
    }
    summary = {"project_id": fields["project_id"], "client_email": fields["client_email"]}
    return config, summary


def _apns(raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    pem = _text(raw, "key")
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise CredentialConfigError("key must be the .p8 file's PEM text.", field="key") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise CredentialConfigError("key must be an APNs .p8 (P-256) key.", field="key")
    production = raw.get("production", True)
    if not isinstance(production, bool):
        raise CredentialConfigError("production must be true or false.", field="production")
    config = {
        "key": pem, "key_id": _matching(raw, "key_id", _APPLE_ID, "the 10-character key id"),
        "team_id": _matching(raw, "team_id", _APPLE_ID, "the 10-character team id"),
        "topic": _matching(raw, "topic", _BUNDLE_ID, "a bundle id", required=False),
        "production": production, "base_url": _url(raw, "base_url"),
    }  # fmt: skip
    summary = {k: config[k] for k in ("key_id", "team_id", "topic", "production")}
    return config, summary


def _webpush(raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        key = vapid_private_key(_text(raw, "private_key"))
    except (ValueError, TypeError) as exc:
        raise CredentialConfigError(
            "private_key must be a P-256 VAPID key (PEM or base64url).", field="private_key"
        ) from exc
    public = public_key_b64url(key)
    given = _text(raw, "public_key", required=False)
    if given and given.rstrip("=") != public:
        raise CredentialConfigError("public_key does not belong to private_key.", field="public_key")
    subject = _text(raw, "subject")
    if not subject.startswith(("mailto:", "https://")):
        raise CredentialConfigError("subject must be a mailto: or https: URL.", field="subject")
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return {"private_key": pem.decode(), "subject": subject}, {"public_key": public, "subject": subject}


def _twilio(raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    config = {
        "account_sid": _matching(raw, "account_sid", _TWILIO_SID["AC"], "an account SID (AC...)"),
        "auth_token": _text(raw, "auth_token"),
        "api_key_sid": _matching(raw, "api_key_sid", _TWILIO_SID["SK"], "an API key SID (SK...)", required=False),
        "messaging_service_sid": _matching(
            raw, "messaging_service_sid", _TWILIO_SID["MG"], "a messaging service SID (MG...)", required=False
        ),
        "sender": _text(raw, "sender", required=False),
        "base_url": _url(raw, "base_url"),
    }
    if config["sender"] and not (_E164.match(config["sender"]) or _ALPHANUMERIC_SENDER.match(config["sender"])):
        raise CredentialConfigError("sender must be an E.164 number or an alphanumeric sender id.", field="sender")
    if not config["sender"] and not config["messaging_service_sid"]:
        raise CredentialConfigError("Give a sender or a messaging_service_sid.", field="sender")
    summary = {k: config[k] for k in ("account_sid", "sender", "messaging_service_sid")}
    return config, summary


def _aws(raw: dict[str, Any]) -> dict[str, str]:
    # No per-app endpoint: boto3 cannot go through hangar.egress, so an app-chosen endpoint
    # could reach the operator's internal network; the operator's setting is the only override.
    if raw.get("endpoint_url"):
        raise CredentialConfigError(
            "AWS endpoints are set by the operator (HANGAR_AWS_ENDPOINT_URL).", field="endpoint_url"
        )
    return {
        "access_key_id": _matching(raw, "access_key_id", _AWS_KEY_ID, "an AWS access key id"),
        "secret_access_key": _text(raw, "secret_access_key"),
        "region": _matching(raw, "region", _AWS_REGION, "an AWS region such as eu-west-1"),
    }


def _sns(raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    config: dict[str, Any] = _aws(raw)
    config["sender_id"] = _matching(
        raw, "sender_id", _ALPHANUMERIC_SENDER, "up to 11 letters or digits", required=False
    )
    config["sms_type"] = _text(raw, "sms_type", required=False, default="Transactional")
    if config["sms_type"] not in ("Transactional", "Promotional"):
        raise CredentialConfigError("sms_type must be Transactional or Promotional.", field="sms_type")
    summary = {
        "access_key_id": _masked(config["access_key_id"]),
        "region": config["region"],
        "sender_id": config["sender_id"],
    }
    return config, summary


def _ses(raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    config: dict[str, Any] = _aws(raw)
    config["sender"] = _matching(raw, "sender", _EMAIL, "an email address (Name <address> allowed)")
    summary = {
        "access_key_id": _masked(config["access_key_id"]),
        "region": config["region"],
        "sender": config["sender"],
    }
    return config, summary


def _smtp(raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    port = raw.get("port", 587)
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise CredentialConfigError("port must be a number from 1 to 65535.", field="port")
    security = _text(raw, "security", required=False, default="starttls")
    if security not in ("tls", "starttls", "none"):
        raise CredentialConfigError("security must be tls, starttls or none.", field="security")
    config = {
        "host": _matching(raw, "host", _HOST, "a host name or an address"), "port": port,
        "username": _text(raw, "username", required=False), "password": _text(raw, "password", required=False),
        "security": security, "sender": _matching(raw, "sender", _EMAIL, "an email address (Name <address> allowed)"),
    }  # fmt: skip
    summary = {k: config[k] for k in ("host", "port", "username", "security", "sender")}
    return config, summary


_CHECKERS: dict[str, Callable[[dict[str, Any]], tuple[dict[str, Any], dict[str, Any]]]] = {
    "fcm": _fcm, "apns": _apns, "webpush": _webpush, "twilio": _twilio, "sns": _sns, "ses": _ses, "smtp": _smtp,
}  # fmt: skip
