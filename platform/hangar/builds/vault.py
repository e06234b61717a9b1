"""The signing vault: envelope encryption of keystores, opened only inside a build's signing step.

Each credential gets its own random 256-bit data key; the keystore and its passwords are sealed
with it (AES-256-GCM), and the data key is sealed with a key-encryption key (KEK) from
HANGAR_BUILDS_VAULT_KEYS. Both seals are bound to the credential's app and uid (GCM's
associated data), so a row copied to another app or credential does not open. Rotating the
KEK re-wraps the small data keys only (``vault_rewrap``); the first configured KEK wraps, every
configured one unwraps. Nothing here logs or returns the material to a caller outside a build.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

from hangar.builds.android.toolchain import SigningMaterial
from hangar.builds.errors import SigningError, VaultError
from hangar.builds.steps import tool_environment

KEYTOOL_TIMEOUT_SECONDS = 30
KEYSTORE_MAX_BYTES = 256 * 1024
_FINGERPRINT = re.compile(r"SHA256:\s*([0-9A-F:]{95})")
_OWNER = re.compile(r"^Owner:\s*(.+)$", re.MULTILINE)
_PASSWORD_MAX = 1024


@dataclass(frozen=True)
class Certificate:
    sha256: str
    subject: str


@dataclass(frozen=True)
class Sealed:
    kek_id: str
    wrapped_key: bytes
    sealed: bytes


def _kek(material: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"hangar-builds-vault", info=b"kek").derive(
        material.encode()
    )


def _keks() -> list[tuple[str, bytes]]:
    keys = [_kek(material) for material in settings.HANGAR_BUILDS_VAULT_KEYS]
    if not keys:
        raise VaultError("No key-encryption key is configured (HANGAR_BUILDS_VAULT_KEYS).")
    return [(hashlib.sha256(key).hexdigest()[:16], key) for key in keys]


def _aad(app_application_id: str, uid: str) -> bytes:
    return f"hangar-signing-credential:{app_application_id}:{uid}".encode()


def seal(payload: dict[str, str], *, app_application_id: str, uid: str) -> Sealed:
    kek_id, kek = _keks()[0]
    data_key = AESGCM.generate_key(bit_length=256)
    aad = _aad(app_application_id, uid)
    nonce = os.urandom(12)
    sealed = nonce + AESGCM(data_key).encrypt(nonce, json.dumps(payload).encode(), aad)
    wrap_nonce = os.urandom(12)
    wrapped = wrap_nonce + AESGCM(kek).encrypt(wrap_nonce, data_key, aad)
    return Sealed(kek_id=kek_id, wrapped_key=wrapped, sealed=sealed)


def _data_key(kek_id: str, wrapped: bytes, aad: bytes) -> bytes:
    for candidate_id, kek in _keks():
        if candidate_id == kek_id:
            try:
                return AESGCM(kek).decrypt(wrapped[:12], wrapped[12:], aad)
            except InvalidTag as exc:
                raise VaultError("The credential's data key does not open (tampered or moved).") from exc
    raise VaultError("The credential was sealed with a key-encryption key that is no longer configured.")


def unseal(box: Sealed, *, app_application_id: str, uid: str) -> dict[str, str]:
    aad = _aad(app_application_id, uid)
    data_key = _data_key(box.kek_id, bytes(box.wrapped_key), aad)
    sealed = bytes(box.sealed)
    try:
        return dict(json.loads(AESGCM(data_key).decrypt(sealed[:12], sealed[12:], aad)))
    except InvalidTag as exc:
        raise VaultError("The credential does not open (tampered or moved).") from exc


def rewrapped(box: Sealed, *, app_application_id: str, uid: str) -> Sealed:
    """The same sealed material with its data key wrapped by the current (first) KEK."""
    aad = _aad(app_application_id, uid)
    data_key = _data_key(box.kek_id, bytes(box.wrapped_key), aad)
    kek_id, kek = _keks()[0]
    nonce = os.urandom(12)
    return Sealed(kek_id=kek_id, wrapped_key=nonce + AESGCM(kek).encrypt(nonce, data_key, aad), sealed=box.sealed)


def keystore_payload(material: SigningMaterial) -> dict[str, str]:
    return {
        "keystore": base64.b64encode(material.keystore).decode(),
        "keystore_type": material.keystore_type,
        "alias": material.alias,
        "store_password": material.store_password,
        "key_password": material.key_password,
    }


def material_from_payload(payload: dict[str, str]) -> SigningMaterial:
    return SigningMaterial(
        keystore=base64.b64decode(payload["keystore"]), keystore_type=payload["keystore_type"],
        alias=payload["alias"], store_password=payload["store_password"], key_password=payload["key_password"],
    )  # fmt: skip


def keystore_certificate(material: SigningMaterial) -> Certificate:
    """Open the keystore with ``keytool`` (password by environment): its key's certificate, or SigningError."""
    if not material.keystore or len(material.keystore) > KEYSTORE_MAX_BYTES:
        raise SigningError(f"The keystore must be 1 to {KEYSTORE_MAX_BYTES} bytes.", field="keystore")
    if material.keystore_type not in ("pkcs12", "jks"):
        raise SigningError("keystore_type must be pkcs12 or jks.", field="keystore_type")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", material.alias):
        raise SigningError("alias must be 1 to 100 letters, digits, '.', '_' or '-'.", field="alias")
    for name, value in (("store_password", material.store_password), ("key_password", material.key_password)):
        if not value or len(value) > _PASSWORD_MAX or "\x00" in value:
            raise SigningError(f"{name} must be 1 to {_PASSWORD_MAX} characters.", field=name)
    with tempfile.TemporaryDirectory(prefix="hangar-keystore-") as folder:
        path = Path(folder) / "keystore"
        path.touch(mode=0o600)
        path.write_bytes(material.keystore)
        try:
            result = subprocess.run(
                ["keytool", "-list", "-v", "-keystore", str(path), "-storetype", material.keystore_type.upper(),
                 "-alias", material.alias, "-storepass:env", "HANGAR_KS_PASS"],
                env={**tool_environment(), "HANGAR_KS_PASS": material.store_password},
                capture_output=True, text=True, timeout=KEYTOOL_TIMEOUT_SECONDS, stdin=subprocess.DEVNULL,
            )  # fmt: skip
        except FileNotFoundError as exc:
            raise SigningError("keytool (the JDK) is not installed here.") from exc
        except subprocess.TimeoutExpired as exc:
            raise SigningError("keytool took too long to open the keystore.") from exc
    fingerprint = _FINGERPRINT.search(result.stdout)
    if result.returncode != 0 or fingerprint is None or "PrivateKeyEntry" not in result.stdout:
        raise SigningError(
            "The keystore could not be opened with this password, or holds no private key under this alias.",
            field="keystore",
        )
    owner = _OWNER.search(result.stdout)
    return Certificate(
        sha256=fingerprint.group(1).replace(":", "").lower(), subject=owner.group(1).strip()[:300] if owner else ""
    )
