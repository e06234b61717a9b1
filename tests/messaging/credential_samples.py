"""Valid credentials of every provider kind, with the secrets a test must never see again."""

from __future__ import annotations

import json
import secrets
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa


def _pem(key: Any) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def sample_configs() -> dict[str, tuple[dict[str, Any], list[str]]]:
    """kind -> (config, its secret strings)."""
    rsa_pem = _pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    p8 = _pem(ec.generate_private_key(ec.SECP256R1()))
    vapid = _pem(ec.generate_private_key(ec.SECP256R1()))
    twilio_token, aws_secret, aws_secret_2, smtp_password = (secrets.token_hex(16) for _ in range(4))
    account = {
        "type": "service_account", "project_id": "my-project", "private_key_id": "k1", "private_key": rsa_pem,
        "client_email": "fcm@my-project.iam.gserviceaccount.com", "token_uri": "https://oauth2.googleapis.com/token",
    }  # fmt: skip
    return {
        "fcm": ({"service_account": json.dumps(account)}, [rsa_pem.splitlines()[1]]),
        "apns": (
            {"key": p8, "key_id": "ABC123DEFG", "team_id": "TEAM123456", "topic": "com.example.app"},
            [p8.splitlines()[1]],
        ),
        "webpush": ({"private_key": vapid, "subject": "mailto:ops@example.com"}, [vapid.splitlines()[1]]),
        "twilio": (
            {"account_sid": "AC" + "1" * 32, "auth_token": twilio_token, "sender": "+15005550006"},
            [twilio_token],
        ),
        "sns": (
            {"access_key_id": "AKIAEXAMPLEKEY12", "secret_access_key": aws_secret, "region": "eu-west-1"},
            [aws_secret],
        ),
        "ses": (
            {
                "access_key_id": "AKIAEXAMPLEKEY34",
                "secret_access_key": aws_secret_2,
                "region": "eu-west-1",
                "sender": "App <app@example.com>",
            },
            [aws_secret_2, "AKIAEXAMPLEKEY34"],
        ),
        "smtp": (
            {
                "host": "smtp.example.com",
                "port": 587,
                "username": "mailer",
                "password": smtp_password,
                "sender": "app@example.com",
            },
            [smtp_password],
        ),
    }
