"""iOS signing material for the vault: a distribution certificate (PKCS12) and its provisioning profile.

Checked before it is sealed: the PKCS12 opens with its password and holds a key and a
certificate; the provisioning profile is Apple's CMS-signed plist, whose team, app id,
expiry and developer certificates are read (Apple's signature over it is not verified here:
Apple's root is not on this machine; Xcode checks it on the macOS agent), and the
certificate must be one of the profile's. Nothing here touches the database.
"""

from __future__ import annotations

import base64
import plistlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import pkcs12

from hangar.builds.errors import SigningError

P12_MAX_BYTES = 64 * 1024
PROFILE_MAX_BYTES = 512 * 1024


@dataclass(frozen=True)
class IosSigningMaterial:
    certificate_p12: bytes
    password: str
    provisioning_profile: bytes


@dataclass(frozen=True)
class IosCredentialSummary:
    """What may be shown of an iOS credential: never the key or the password."""

    certificate_sha256: str
    certificate_subject: str
    profile_name: str
    team_id: str
    app_id_pattern: str
    expires_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {"profile_name": self.profile_name, "team_id": self.team_id, "app_id_pattern": self.app_id_pattern,
                "expires_at": self.expires_at.isoformat()}  # fmt: skip


def provisioning_profile_plist(data: bytes) -> dict[str, Any]:
    """The plist inside a .mobileprovision (CMS SignedData with the plist as its content)."""
    start, end = data.find(b"<?xml"), data.rfind(b"</plist>")
    if start < 0 or end < start:
        raise SigningError("provisioning_profile is not a provisioning profile.", field="provisioning_profile")
    try:
        content = plistlib.loads(data[start : end + len(b"</plist>")])
    except (plistlib.InvalidFileException, ValueError, TypeError) as exc:
        raise SigningError("provisioning_profile holds no readable plist.", field="provisioning_profile") from exc
    if not isinstance(content, dict):
        raise SigningError("provisioning_profile holds no readable plist.", field="provisioning_profile")
    return content


def ios_material_checked(material: IosSigningMaterial, *, now: datetime | None = None) -> IosCredentialSummary:
    if not material.certificate_p12 or len(material.certificate_p12) > P12_MAX_BYTES:
        raise SigningError(f"certificate must be 1 to {P12_MAX_BYTES} bytes.", field="certificate")
    if not material.provisioning_profile or len(material.provisioning_profile) > PROFILE_MAX_BYTES:
        raise SigningError(
            f"provisioning_profile must be 1 to {PROFILE_MAX_BYTES} bytes.", field="provisioning_profile"
        )
    try:
        key, certificate, _ = pkcs12.load_key_and_certificates(material.certificate_p12, material.password.encode())
    except (ValueError, TypeError) as exc:
        raise SigningError("The certificate could not be opened with this password.", field="certificate") from exc
    if key is None or certificate is None:
        raise SigningError("The certificate file holds no private key and certificate.", field="certificate")
    fingerprint = certificate.fingerprint(hashes.SHA256()).hex()
    profile = provisioning_profile_plist(material.provisioning_profile)
    return IosCredentialSummary(
        certificate_sha256=fingerprint, certificate_subject=certificate.subject.rfc4514_string()[:300],
        **_profile_fields(profile, fingerprint, now or datetime.now(UTC)),
    )  # fmt: skip


def _profile_fields(profile: dict[str, Any], fingerprint: str, now: datetime) -> dict[str, Any]:
    teams = profile.get("TeamIdentifier")
    entitlements = profile.get("Entitlements")
    expires = profile.get("ExpirationDate")
    if not (isinstance(teams, list) and teams and isinstance(entitlements, dict) and isinstance(expires, datetime)):
        raise SigningError("provisioning_profile lacks its team, entitlements or expiry.", field="provisioning_profile")
    expires = expires if expires.tzinfo else expires.replace(tzinfo=UTC)
    if expires <= now:
        raise SigningError("The provisioning profile has expired.", field="provisioning_profile")
    certificates = []
    for der in profile.get("DeveloperCertificates", []):
        try:
            certificates.append(x509.load_der_x509_certificate(bytes(der)).fingerprint(hashes.SHA256()).hex())
        except ValueError:
            continue
    if fingerprint not in certificates:
        raise SigningError("The certificate is not one of the provisioning profile's.", field="provisioning_profile")
    return {
        "profile_name": str(profile.get("Name", ""))[:200], "team_id": str(teams[0])[:20],
        "app_id_pattern": str(entitlements.get("application-identifier", ""))[:200], "expires_at": expires,
    }  # fmt: skip


def ios_payload(material: IosSigningMaterial) -> dict[str, str]:
    return {
        "kind": "ios", "certificate_p12": base64.b64encode(material.certificate_p12).decode(),
        "password": material.password,
        "provisioning_profile": base64.b64encode(material.provisioning_profile).decode(),
    }  # fmt: skip


def ios_material_from_payload(payload: dict[str, str]) -> IosSigningMaterial:
    return IosSigningMaterial(
        certificate_p12=base64.b64decode(payload["certificate_p12"]), password=payload["password"],
        provisioning_profile=base64.b64decode(payload["provisioning_profile"]),
    )  # fmt: skip
