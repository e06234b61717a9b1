"""The vault's envelope: a KEK rotation re-wraps data keys, an unknown KEK or a tampered row fails closed."""

from __future__ import annotations

import pytest

from hangar.builds import vault
from hangar.builds.credentials import credential_open, credential_store, vault_rewrap
from hangar.builds.errors import SigningError, VaultError
from hangar.builds.models import SigningCredential, SigningCredentialUse
from tests.builds.conftest import requires_toolchain

pytestmark = [requires_toolchain, pytest.mark.django_db]


def _material(keystore):  # type: ignore[no-untyped-def]
    from hangar.builds.android.toolchain import SigningMaterial

    return SigningMaterial(keystore=keystore.path.read_bytes(), keystore_type=keystore.kind, alias=keystore.alias,
                           store_password=keystore.store_password, key_password=keystore.key_password)  # fmt: skip


def test_rotating_the_kek_keeps_every_credential_openable(tenant_a, pkcs12_keystore, settings):  # type: ignore[no-untyped-def]
    settings.HANGAR_BUILDS_VAULT_KEYS = ["old-kek"]
    credential = credential_store(app=tenant_a.app, name="release", material=_material(pkcs12_keystore))
    old_id = credential.kek_id
    settings.HANGAR_BUILDS_VAULT_KEYS = ["new-kek", "old-kek"]
    assert vault_rewrap() == 1
    settings.HANGAR_BUILDS_VAULT_KEYS = ["new-kek"]  # the old key can now be dropped
    credential.refresh_from_db()
    assert credential.kek_id != old_id
    opened = credential_open(credential=credential, build=None, agent="test", purpose="check")
    assert opened.keystore == pkcs12_keystore.path.read_bytes()
    assert SigningCredentialUse.objects.filter(credential=credential, purpose="check").count() == 1


def test_an_unknown_kek_and_a_tampered_row_fail_closed(tenant_a, pkcs12_keystore, settings):  # type: ignore[no-untyped-def]
    settings.HANGAR_BUILDS_VAULT_KEYS = ["kek-one"]
    credential = credential_store(app=tenant_a.app, name="release", material=_material(pkcs12_keystore))
    settings.HANGAR_BUILDS_VAULT_KEYS = ["kek-two"]
    with pytest.raises(VaultError, match="no longer configured"):
        credential_open(credential=credential, build=None, agent="test", purpose="check")
    settings.HANGAR_BUILDS_VAULT_KEYS = ["kek-one"]
    sealed = bytearray(bytes(credential.sealed))
    sealed[-1] ^= 1
    SigningCredential.objects.filter(pk=credential.pk).update(sealed=bytes(sealed))
    credential.refresh_from_db()
    with pytest.raises(VaultError, match="tampered"):
        credential_open(credential=credential, build=None, agent="test", purpose="check")


def test_storing_under_the_same_name_rotates_the_credential(tenant_a, pkcs12_keystore, jks_keystore):  # type: ignore[no-untyped-def]
    first = credential_store(app=tenant_a.app, name="release", material=_material(pkcs12_keystore))
    second = credential_store(app=tenant_a.app, name="release", material=_material(jks_keystore))
    assert second.pk == first.pk
    assert second.certificate_sha256 == jks_keystore.sha256
    assert second.uid != first.uid  # a fresh data key and associated data
    assert SigningCredential.objects.filter(app=tenant_a.app).count() == 1


def test_what_is_not_a_keystore_is_refused(tenant_a, pkcs12_keystore):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    material = _material(pkcs12_keystore)
    for bad in (replace(material, keystore=b"garbage"), replace(material, alias="other"),
                replace(material, alias="-rm -rf"), replace(material, keystore_type="bks")):  # fmt: skip
        with pytest.raises(SigningError):
            credential_store(app=tenant_a.app, name="release", material=bad)
    assert not SigningCredential.objects.exists()
    assert vault.KEYSTORE_MAX_BYTES > len(material.keystore)
