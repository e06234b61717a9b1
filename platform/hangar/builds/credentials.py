"""Writes and the one read of the signing vault: store (or rotate), delete, open for a build."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from hangar.builds import vault
from hangar.builds.android.toolchain import SigningMaterial
from hangar.builds.errors import VaultError
from hangar.builds.ios.credentials import IosSigningMaterial, ios_material_checked, ios_payload
from hangar.builds.models import Build, SigningCredential, SigningCredentialUse
from tenants.models import App, Developer

NAME_MAX = 100
ANDROID_KINDS = (SigningCredential.Kind.PKCS12, SigningCredential.Kind.JKS)


def credential_store(
    *, app: App, name: str, material: SigningMaterial | IosSigningMaterial, actor: Developer | None = None
) -> SigningCredential:
    """Check the material opens, seal it, and store it under ``name`` (replacing one of that name: a rotation)."""
    name = (name or "").strip()
    if not name or len(name) > NAME_MAX:
        raise VaultError(f"name must be 1 to {NAME_MAX} characters.", field="name")
    uid = secrets.token_hex(16)
    if isinstance(material, IosSigningMaterial):
        ios = ios_material_checked(material, trusted_roots=settings.HANGAR_BUILDS_APPLE_ROOT_SHA256)
        kind, platform, alias, summary = str(SigningCredential.Kind.IOS), "ios", ios.profile_name[:100], ios.as_dict()
        certificate = vault.Certificate(sha256=ios.certificate_sha256, subject=ios.certificate_subject)
        payload = ios_payload(material)
    else:
        certificate = vault.keystore_certificate(material)  # outside the transaction: keytool takes ~0.5 s
        kind, platform, alias, summary = material.keystore_type, "android", material.alias, {}
        payload = vault.keystore_payload(material)
    box = vault.seal(payload, app_application_id=app.application_id, uid=uid)
    now = timezone.now()
    with transaction.atomic():
        credential = SigningCredential.objects.select_for_update().filter(app=app, name=name).first()
        if credential is None:
            credential = SigningCredential(app=app, name=name, created_by=actor, created_at=now)
        credential.uid = uid
        credential.kind, credential.platform, credential.alias, credential.summary = kind, platform, alias, summary
        credential.certificate_sha256 = certificate.sha256
        credential.certificate_subject = certificate.subject
        credential.kek_id, credential.wrapped_key, credential.sealed = box.kek_id, box.wrapped_key, box.sealed
        credential.rotated_at = now
        credential.save()
    return credential


def credential_open(*, credential: SigningCredential, build: Build | None, agent: str, purpose: str) -> SigningMaterial:
    """The keystore, for one signing step; every opening is recorded."""
    if build is not None and credential.app_id != build.app_id:
        raise VaultError("The credential belongs to another app.")  # fail closed, whatever the caller checked
    if credential.kind not in ANDROID_KINDS:
        raise VaultError("The credential is not an Android keystore.")
    box = vault.Sealed(
        kek_id=credential.kek_id, wrapped_key=bytes(credential.wrapped_key), sealed=bytes(credential.sealed)
    )
    payload = vault.unseal(box, app_application_id=credential.app.application_id, uid=credential.uid)
    SigningCredentialUse.objects.create(credential=credential, build=build, purpose=purpose, agent=agent[:100])
    SigningCredential.objects.filter(pk=credential.pk).update(last_used_at=timezone.now())
    return vault.material_from_payload(payload)


def vault_rewrap() -> int:
    """Wrap every credential's data key with the first configured KEK; the number re-wrapped."""
    count = 0
    for credential in SigningCredential.objects.select_related("app").iterator():
        box = vault.Sealed(
            kek_id=credential.kek_id, wrapped_key=bytes(credential.wrapped_key), sealed=bytes(credential.sealed)
        )
        fresh = vault.rewrapped(box, app_application_id=credential.app.application_id, uid=credential.uid)
        count += SigningCredential.objects.filter(pk=credential.pk, kek_id=credential.kek_id).update(
            kek_id=fresh.kek_id, wrapped_key=fresh.wrapped_key
        )
    return count
