"""iOS signing material for the vault: a distribution certificate (PKCS12) and its provisioning profile.

Checked before it is sealed: the PKCS12 opens with its password, holds a key and a certificate,
and the certificate has not expired. The provisioning profile is a CMS SignedData whose content
is a plist; its signature is verified with ``openssl cms -verify`` (the plist is read only from
what verified), and must chain, through the certificates the profile carries, to one of Apple's
roots pinned by SHA-256 (HANGAR_BUILDS_APPLE_ROOT_SHA256), with a signer named as Apple's profile
signing certificate (the name Apple's own Security framework requires of it). Then the profile
must not have expired and the certificate must be one of its developer certificates. Nothing here
touches the database.
"""

from __future__ import annotations

import base64
import plistlib
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12
from cryptography.x509.oid import NameOID

from hangar.builds.errors import SigningError

P12_MAX_BYTES = 64 * 1024
PROFILE_MAX_BYTES = 512 * 1024
# Apple's SecPolicyCreateiPhoneProfileApplicationSigning: the leaf that signs provisioning profiles.
PROFILE_SIGNER_NAME = "Apple iPhone OS Provisioning Profile Signing"
_FIELD = "provisioning_profile"


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


def provisioning_profile_verified(data: bytes, *, trusted_roots: tuple[str, ...], now: datetime) -> bytes:
    """The content (the plist) of a provisioning profile whose CMS signature chains to a trusted Apple root."""
    try:
        carried = pkcs7.load_der_pkcs7_certificates(data)
    except ValueError as exc:
        raise SigningError("provisioning_profile is not a signed provisioning profile (CMS).", field=_FIELD) from exc
    anchors = [c for c in carried if c.issuer == c.subject and _sha256(c) in trusted_roots]
    if not anchors:
        raise SigningError("The provisioning profile is not signed by Apple: no Apple root in its chain.", field=_FIELD)
    with tempfile.TemporaryDirectory(prefix="hangar-profile-") as folder:
        work = Path(folder)
        (work / "profile.der").write_bytes(data)
        (work / "roots.pem").write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in anchors))
        if not _openssl_cms_verify(work, now):
            raise SigningError("The provisioning profile's signature does not verify.", field=_FIELD)
        content, signer_pem = (work / "content").read_bytes(), (work / "signer.pem").read_bytes()
    signers = x509.load_pem_x509_certificates(signer_pem)
    names = [a.value for s in signers for a in s.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    if len(signers) != 1 or names != [PROFILE_SIGNER_NAME]:
        raise SigningError("The provisioning profile is not signed by Apple's profile signing certificate.",
                           field=_FIELD)  # fmt: skip
    return content


def _openssl_cms_verify(work: Path, now: datetime) -> bool:
    """Verify work/profile.der against work/roots.pem only (no system store); write content and signer."""
    try:
        result = subprocess.run(
            ["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", work / "profile.der",
             "-CAfile", work / "roots.pem", "-no-CApath", "-no-CAstore", "-purpose", "any",
             "-attime", str(int(now.timestamp())), "-out", work / "content", "-signer", work / "signer.pem"],
            capture_output=True, timeout=30, stdin=subprocess.DEVNULL, env={"PATH": "/usr/bin:/bin", "LANG": "C"},
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:  # no openssl here: refuse rather than store it unchecked
        raise SigningError("The provisioning profile cannot be verified on this server.", field=_FIELD) from exc
    return result.returncode == 0 and (work / "content").exists() and (work / "signer.pem").exists()


def _sha256(certificate: x509.Certificate) -> str:
    return certificate.fingerprint(hashes.SHA256()).hex()


def provisioning_profile_plist(content: bytes) -> dict[str, Any]:
    """The plist a verified profile signed (XML, or binary as plistlib reads both)."""
    try:
        plist = plistlib.loads(content)
    except (plistlib.InvalidFileException, ValueError, TypeError, OverflowError) as exc:
        raise SigningError("provisioning_profile holds no readable plist.", field=_FIELD) from exc
    if not isinstance(plist, dict):
        raise SigningError("provisioning_profile holds no readable plist.", field=_FIELD)
    return plist


def bundle_id_matches(app_id_pattern: str, team_id: str, bundle_id: str) -> bool:
    """Whether a profile's application-identifier (``TEAM.com.example.shop``, ``TEAM.com.example.*``,
    ``TEAM.*``) allows ``bundle_id``: Apple's wildcard is a trailing ``*`` only."""
    prefix = f"{team_id}."
    if not app_id_pattern.startswith(prefix):
        return False
    pattern = app_id_pattern.removeprefix(prefix)
    if pattern.endswith("*"):
        return bundle_id.startswith(pattern[:-1])
    return bundle_id == pattern


def ios_material_checked(
    material: IosSigningMaterial, *, trusted_roots: tuple[str, ...], now: datetime | None = None
) -> IosCredentialSummary:
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
    now = now or datetime.now(UTC)
    if certificate.not_valid_after_utc <= now:
        raise SigningError("The certificate has expired.", field="certificate")
    fingerprint = _sha256(certificate)
    content = provisioning_profile_verified(material.provisioning_profile, trusted_roots=trusted_roots, now=now)
    return IosCredentialSummary(
        certificate_sha256=fingerprint, certificate_subject=certificate.subject.rfc4514_string()[:300],
        **_profile_fields(provisioning_profile_plist(content), fingerprint, now),
    )  # fmt: skip


def _profile_fields(profile: dict[str, Any], fingerprint: str, now: datetime) -> dict[str, Any]:
    teams = profile.get("TeamIdentifier")
    entitlements = profile.get("Entitlements")
    expires = profile.get("ExpirationDate")
    if not (isinstance(teams, list) and teams and isinstance(entitlements, dict) and isinstance(expires, datetime)):
        raise SigningError("provisioning_profile lacks its team, entitlements or expiry.", field=_FIELD)
    expires = expires if expires.tzinfo else expires.replace(tzinfo=UTC)
    if expires <= now:
        raise SigningError("The provisioning profile has expired.", field=_FIELD)
    certificates = []
    for der in profile.get("DeveloperCertificates", []):
        try:
            certificates.append(_sha256(x509.load_der_x509_certificate(bytes(der))))
        except (ValueError, TypeError):
            continue
    if fingerprint not in certificates:
        raise SigningError("The certificate is not one of the provisioning profile's.", field=_FIELD)
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
