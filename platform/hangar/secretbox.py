"""Encryption at rest for secrets Hangar must be able to show again (app keys).

Fernet (AES-128-CBC + HMAC-SHA256) from ``cryptography``; ``HANGAR_ENCRYPTION_KEYS``
may list several keys so that an operator can rotate: the first encrypts, any of
them decrypts. Each configured key is any string; it is stretched to a Fernet key
with HKDF so operators need not produce base64 by hand.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


class SecretDecryptionError(RuntimeError):
    """A ciphertext cannot be decrypted with any configured key."""


def _fernet_key(material: str) -> bytes:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"hangar-secretbox", info=b"fernet").derive(
        material.encode()
    )
    return base64.urlsafe_b64encode(derived)


@lru_cache(maxsize=4)
def _box(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(_fernet_key(key)) for key in keys])


def encrypt_secret(value: str) -> str:
    return _box(tuple(settings.HANGAR_ENCRYPTION_KEYS)).encrypt(value.encode()).decode()


def decrypt_secret(ciphertext: str) -> str:
    try:
        return _box(tuple(settings.HANGAR_ENCRYPTION_KEYS)).decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise SecretDecryptionError("secret cannot be decrypted with the configured keys") from exc


# A per-process key: secrets held in memory for comparison are kept only as digests.
_PROCESS_DIGEST_KEY = secrets.token_bytes(32)


def memory_digest(value: str) -> bytes:
    """Digest a secret for in-process, constant-time comparison (see ``secrets_match``)."""
    return hmac.digest(_PROCESS_DIGEST_KEY, value.encode(), "sha256")  # one-shot: no HMAC object per call


def secrets_match(presented: str, expected_digest: bytes) -> bool:
    return hmac.compare_digest(memory_digest(presented), expected_digest)


def token_digest(token: str) -> str:
    """SHA-256 hex digest of a high-entropy token (access tokens, invitations): safe to store."""
    return hashlib.sha256(token.encode()).hexdigest()
