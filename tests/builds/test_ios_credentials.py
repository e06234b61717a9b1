"""iOS signing material in the vault: a .p12 and a CMS-signed provisioning profile, both made here."""

from __future__ import annotations

import io
import plistlib
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12
from cryptography.x509.oid import NameOID

from hangar.builds.ios.credentials import PROFILE_SIGNER_NAME, bundle_id_matches
from hangar.builds.models import SigningCredential
from tests.builds.conftest import requires_toolchain, save_profile, upload_credential
from tests.tenants.conftest import app_url

pytestmark = pytest.mark.django_db
P12_PASSWORD = "p12-pass-3c9"


def _certificate(
    name: str,
    *,
    issuer: tuple[rsa.RSAPrivateKey, x509.Certificate] | None = None,
    ca: bool = False,
    valid_for: timedelta = timedelta(days=365),
) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """A certificate named ``name``: self-signed, or issued by ``issuer`` (key, certificate)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, name), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test")]
    )
    signer_key, issuer_name = (issuer[0], issuer[1].subject) if issuer else (key, subject)
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=2))
        .not_valid_after(now + valid_for)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(signer_key, hashes.SHA256())
    )  # fmt: skip
    return key, certificate


def _sha256(certificate: x509.Certificate) -> str:
    return certificate.fingerprint(hashes.SHA256()).hex()


# Apple's layout (root -> "Apple iPhone Certification Authority" -> the profile signer), made here; the
# tests pin this root as the platform's trusted Apple root. Names alone earn nothing: only the pin does.
APPLE_ROOT = _certificate("Test Apple Root CA", ca=True)
APPLE_CA = _certificate("Apple iPhone Certification Authority", issuer=APPLE_ROOT, ca=True)
PROFILE_SIGNER = _certificate(PROFILE_SIGNER_NAME, issuer=APPLE_CA)


@pytest.fixture(autouse=True)
def _trust_the_test_root(settings):  # type: ignore[no-untyped-def]
    settings.HANGAR_BUILDS_APPLE_ROOT_SHA256 = (_sha256(APPLE_ROOT[1]),)


def _p12(key: rsa.RSAPrivateKey, certificate: x509.Certificate) -> bytes:
    encryption = serialization.BestAvailableEncryption(P12_PASSWORD.encode())
    return pkcs12.serialize_key_and_certificates(b"dist", key, certificate, None, encryption)


def _plist(developer_certificates: list[x509.Certificate], *, expires_in: timedelta = timedelta(days=90)) -> bytes:
    return plistlib.dumps({
        "Name": "Shop Ad Hoc", "TeamIdentifier": ["ABCDE12345"],
        "Entitlements": {"application-identifier": "ABCDE12345.com.example.shop"},
        "ExpirationDate": datetime.now(UTC) + expires_in,
        "DeveloperCertificates": [c.public_bytes(serialization.Encoding.DER) for c in developer_certificates],
    })  # fmt: skip


def _signed(content: bytes, *, signer: tuple[rsa.RSAPrivateKey, x509.Certificate] = PROFILE_SIGNER,
            carried: tuple[x509.Certificate, ...] = (APPLE_CA[1], APPLE_ROOT[1])) -> bytes:  # fmt: skip
    """CMS SignedData holding ``content``, with the signer's chain as Apple ships it (leaf, CA, root)."""
    builder = pkcs7.PKCS7SignatureBuilder().set_data(content).add_signer(signer[1], signer[0], hashes.SHA256())
    for certificate in carried:
        builder = builder.add_certificate(certificate)
    return builder.sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.Binary])


def _profile(developer_certificates: list[x509.Certificate], *, expires_in: timedelta = timedelta(days=90)) -> bytes:
    """A provisioning profile as Apple ships one: CMS SignedData whose content is the plist."""
    return _signed(_plist(developer_certificates, expires_in=expires_in))


def _upload(client, tenant, p12: bytes, profile: bytes, password: str = P12_PASSWORD):  # type: ignore[no-untyped-def]
    return client.post(app_url(tenant, "/builds/credentials"), {
        "name": "ios-dist", "kind": "ios", "certificate": io.BytesIO(p12), "provisioning_profile": io.BytesIO(profile),
        "store_password": password,
    }, format="multipart")  # fmt: skip


def test_an_ios_credential_is_checked_sealed_and_summarised(alice, tenant_a):  # type: ignore[no-untyped-def]
    key, certificate = _certificate("iPhone Distribution: Shop")
    answer = _upload(alice, tenant_a, _p12(key, certificate), _profile([certificate]))
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["platform"] == "ios"
    assert body["certificate_sha256"] == certificate.fingerprint(hashes.SHA256()).hex()
    assert body["summary"]["team_id"] == "ABCDE12345"
    assert body["summary"]["app_id_pattern"] == "ABCDE12345.com.example.shop"
    stored = SigningCredential.objects.get(app=tenant_a.app)
    assert P12_PASSWORD.encode() not in bytes(stored.sealed)
    assert P12_PASSWORD not in str(alice.get(app_url(tenant_a, "/builds/credentials")).json())


def test_ios_material_that_does_not_hold_together_is_refused(alice, tenant_a):  # type: ignore[no-untyped-def]
    key, certificate = _certificate("iPhone Distribution: Shop")
    _, stranger = _certificate("someone else")
    cases = {
        "wrong password": _upload(alice, tenant_a, _p12(key, certificate), _profile([certificate]), password="nope"),
        "not in the profile": _upload(alice, tenant_a, _p12(key, certificate), _profile([stranger])),
        "expired profile": _upload(
            alice, tenant_a, _p12(key, certificate), _profile([certificate], expires_in=timedelta(days=-1))
        ),
        "not a profile": _upload(alice, tenant_a, _p12(key, certificate), b"\x30\x82 garbage"),
    }
    for what, answer in cases.items():
        assert answer.status_code == 400, what
        assert answer.json()["code"] == "signing_failed", what
    missing = alice.post(app_url(tenant_a, "/builds/credentials"),
                         {"name": "x", "kind": "ios", "store_password": "x"}, format="multipart")  # fmt: skip
    assert missing.status_code == 400
    assert missing.json()["field"] == "certificate"
    assert not SigningCredential.objects.exists()


def _refusal(answer) -> tuple[int, str, str, str]:  # type: ignore[no-untyped-def]
    body = answer.json()
    return answer.status_code, body.get("code"), body.get("field"), body.get("detail")


def test_a_profile_not_signed_by_a_pinned_apple_root_is_refused(alice, tenant_a):  # type: ignore[no-untyped-def]
    """Anyone can make CMS with the right names; only a chain to a pinned root counts."""
    key, certificate = _certificate("iPhone Distribution: Shop")
    p12, plist = _p12(key, certificate), _plist([certificate])
    impostor_root = _certificate("Apple Root CA", ca=True)
    impostor_ca = _certificate("Apple iPhone Certification Authority", issuer=impostor_root, ca=True)
    impostor_signer = _certificate(PROFILE_SIGNER_NAME, issuer=impostor_ca)
    forged = _signed(plist, signer=impostor_signer, carried=(impostor_ca[1], impostor_root[1]))
    status, code, field, detail = _refusal(_upload(alice, tenant_a, p12, forged))
    assert (status, code, field) == (400, "signing_failed", "provisioning_profile")
    assert "no Apple root in its chain" in detail
    # The trusted root carried along, but the signer's chain does not lead to it.
    dangling = _signed(plist, signer=impostor_signer, carried=(impostor_ca[1], APPLE_ROOT[1]))
    status, code, field, detail = _refusal(_upload(alice, tenant_a, p12, dangling))
    assert (status, code, field) == (400, "signing_failed", "provisioning_profile")
    assert "signature does not verify" in detail
    # Without its intermediate, the real signer's chain is cut too.
    cut = _signed(plist, carried=(APPLE_ROOT[1],))
    assert "signature does not verify" in _refusal(_upload(alice, tenant_a, p12, cut))[3]
    assert not SigningCredential.objects.exists()


def test_a_profile_signed_under_apple_by_another_certificate_is_refused(alice, tenant_a):  # type: ignore[no-untyped-def]
    """A developer's own certificate chains to Apple's root as well: it may not sign a profile."""
    key, certificate = _certificate("iPhone Distribution: Shop")
    developer = _certificate("iPhone Distribution: Mallory", issuer=APPLE_CA)
    forged = _signed(_plist([certificate]), signer=developer)
    status, code, field, detail = _refusal(_upload(alice, tenant_a, _p12(key, certificate), forged))
    assert (status, code, field) == (400, "signing_failed", "provisioning_profile")
    assert "not signed by Apple's profile signing certificate" in detail


def test_a_profile_altered_after_signing_is_refused(alice, tenant_a):  # type: ignore[no-untyped-def]
    key, certificate = _certificate("iPhone Distribution: Shop")
    profile = _profile([certificate])
    # Another team's id of the same length, written over the signed plist's.
    altered = profile.replace(b"ABCDE12345", b"ZZZZZ99999")
    assert altered != profile
    status, code, field, detail = _refusal(_upload(alice, tenant_a, _p12(key, certificate), altered))
    assert (status, code, field) == (400, "signing_failed", "provisioning_profile")
    assert "signature does not verify" in detail


def test_an_expired_certificate_or_an_unreadable_signed_plist_is_refused(alice, tenant_a):  # type: ignore[no-untyped-def]
    key, expired = _certificate("iPhone Distribution: Old", valid_for=timedelta(days=-1))
    status, code, field, detail = _refusal(_upload(alice, tenant_a, _p12(key, expired), _profile([expired])))
    assert (status, code, field, detail) == (400, "signing_failed", "certificate", "The certificate has expired.")
    key, certificate = _certificate("iPhone Distribution: Shop")
    status, code, field, detail = _refusal(_upload(alice, tenant_a, _p12(key, certificate), _signed(b"not a plist")))
    assert (status, field) == (400, "provisioning_profile")
    assert "no readable plist" in detail
    assert not SigningCredential.objects.exists()


def test_a_profiles_app_id_allows_bundle_ids_as_apple_reads_it() -> None:
    assert bundle_id_matches("ABCDE12345.com.example.shop", "ABCDE12345", "com.example.shop")
    assert not bundle_id_matches("ABCDE12345.com.example.shop", "ABCDE12345", "com.example.shop2")
    assert bundle_id_matches("ABCDE12345.com.example.*", "ABCDE12345", "com.example.shop")
    assert not bundle_id_matches("ABCDE12345.com.example.*", "ABCDE12345", "com.other.shop")
    assert bundle_id_matches("ABCDE12345.*", "ABCDE12345", "org.anything")
    assert not bundle_id_matches("OTHERTEAM1.*", "ABCDE12345", "org.anything")


@requires_toolchain
def test_an_ios_credential_never_signs_an_android_build(alice, tenant_a):  # type: ignore[no-untyped-def]
    key, certificate = _certificate("iPhone Distribution: Shop")
    assert _upload(alice, tenant_a, _p12(key, certificate), _profile([certificate])).status_code == 201
    answer = save_profile(alice, tenant_a, credential="ios-dist")
    assert answer.status_code == 400
    assert answer.json()["field"] == "credential"
    assert "does not sign android apps" in answer.json()["detail"]


@requires_toolchain
def test_the_vault_rewraps_ios_and_android_credentials_alike(alice, tenant_a, pkcs12_keystore, settings):  # type: ignore[no-untyped-def]
    from hangar.builds import vault
    from hangar.builds.credentials import vault_rewrap
    from hangar.builds.ios.credentials import ios_material_from_payload

    settings.HANGAR_BUILDS_VAULT_KEYS = ["first"]
    key, certificate = _certificate("iPhone Distribution: Shop")
    p12 = _p12(key, certificate)
    assert _upload(alice, tenant_a, p12, _profile([certificate])).status_code == 201
    assert upload_credential(alice, tenant_a, pkcs12_keystore).status_code == 201
    settings.HANGAR_BUILDS_VAULT_KEYS = ["second", "first"]
    assert vault_rewrap() == 2
    settings.HANGAR_BUILDS_VAULT_KEYS = ["second"]
    stored = SigningCredential.objects.get(app=tenant_a.app, kind="ios")
    box = vault.Sealed(kek_id=stored.kek_id, wrapped_key=bytes(stored.wrapped_key), sealed=bytes(stored.sealed))
    opened = ios_material_from_payload(vault.unseal(box, app_application_id=tenant_a.application_id, uid=stored.uid))
    assert opened.certificate_p12 == p12
    assert opened.password == P12_PASSWORD


def test_the_dashboard_stores_an_ios_credential(tenant_a):  # type: ignore[no-untyped-def]
    from django.urls import reverse

    from tests.dashboard.conftest import logged_in

    client = logged_in(tenant_a.developer)
    key, certificate = _certificate("iPhone Distribution: Shop")
    url = reverse("dashboard:builds_credential_upload", args=[tenant_a.organization.pk, tenant_a.app.pk])
    answer = client.post(url, {
        "name": "ios-dist", "kind": "ios", "certificate": io.BytesIO(_p12(key, certificate)),
        "provisioning_profile": io.BytesIO(_profile([certificate])), "store_password": P12_PASSWORD,
    }, follow=True)  # fmt: skip
    page = answer.content.decode()
    assert "Stored ios-dist" in page
    assert "ABCDE12345.com.example.shop" in page
    assert SigningCredential.objects.get(app=tenant_a.app).platform == "ios"


def test_build_ios_project_writes_the_project_with_the_credentials_team(alice, tenant_a, tmp_path):  # type: ignore[no-untyped-def]
    import json

    from django.core.management import call_command

    from tests.builds.conftest import icon_png, web_bundle

    key, certificate = _certificate("iPhone Distribution: Shop")
    assert _upload(alice, tenant_a, _p12(key, certificate), _profile([certificate])).status_code == 201
    (tmp_path / "icon.png").write_bytes(icon_png())
    (tmp_path / "site.zip").write_bytes(web_bundle())
    (tmp_path / "profile.json").write_text(json.dumps({
        "bundle_id": "com.example.shop", "label": "Shop", "version_code": 3, "version_name": "1.0.3",
        "icon": "icon.png", "web_bundle": "site.zip",
    }))  # fmt: skip
    out = tmp_path / "project"
    call_command("build_ios_project", "--app", tenant_a.application_id, "--profile", str(tmp_path / "profile.json"),
                 "--out", str(out), "--credential", "ios-dist", stdout=io.StringIO())  # fmt: skip
    export = plistlib.loads((out / "ExportOptions.plist").read_bytes())
    assert export["teamID"] == "ABCDE12345"
    assert export["provisioningProfiles"] == {"com.example.shop": "Shop Ad Hoc"}
    assert (out / "HangarShell.xcodeproj" / "project.pbxproj").exists()
    assert json.loads((out / "HangarShell" / "hangar.json").read_text())["applicationId"] == tenant_a.application_id
    assert P12_PASSWORD not in "".join(p.read_text(errors="ignore") for p in out.rglob("*") if p.is_file())


def test_build_ios_project_refuses_a_bundle_id_the_profile_does_not_cover(alice, tenant_a, tmp_path):  # type: ignore[no-untyped-def]
    import json

    from django.core.management import call_command
    from django.core.management.base import CommandError

    from tests.builds.conftest import icon_png

    key, certificate = _certificate("iPhone Distribution: Shop")
    assert _upload(alice, tenant_a, _p12(key, certificate), _profile([certificate])).status_code == 201
    (tmp_path / "icon.png").write_bytes(icon_png())
    (tmp_path / "profile.json").write_text(json.dumps({
        "bundle_id": "com.example.other", "label": "Shop", "version_code": 3, "version_name": "1.0.3",
        "icon": "icon.png", "start_url": "https://shop.example.com/",
    }))  # fmt: skip
    with pytest.raises(CommandError, match=r"is for 'ABCDE12345\.com\.example\.shop', not the bundle id"):
        call_command("build_ios_project", "--app", tenant_a.application_id, "--profile", str(tmp_path / "profile.json"),
                     "--out", str(tmp_path / "project"), "--credential", "ios-dist", stdout=io.StringIO())  # fmt: skip
    assert not (tmp_path / "project").exists()
