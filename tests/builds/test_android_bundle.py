"""Android App Bundles: the layout assembled from fixture inputs, and a signed bundle built end to end from the API."""

from __future__ import annotations

import io
import subprocess
import zipfile
from pathlib import Path

import pytest

from hangar.builds.android import bundle
from hangar.builds.android.toolchain import ZIP_TIMESTAMP, jar_signer_certificate
from tests.builds.conftest import BUNDLE_FILES, LABEL, downloaded, requires_toolchain, save_profile, upload_credential
from tests.tenants.conftest import app_url


def _tool(*args: str | Path, ok: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=120)
    if ok:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def _proto_apk(path: Path) -> Path:
    """A stand-in for `aapt2 link --proto-format`'s output: manifest and table at the root, res/, and a root file."""
    with zipfile.ZipFile(path, "w") as apk:
        apk.writestr("AndroidManifest.xml", b"proto-manifest")
        apk.writestr("resources.pb", b"proto-table")
        apk.writestr("res/mipmap-mdpi-v4/ic_launcher.png", b"png-mdpi")
        apk.writestr("res/", b"")  # a directory entry: dropped
        apk.writestr("kotlin/extra.txt", b"root file")
    return path


def test_bundle_config_is_the_protobuf_bundletool_writes() -> None:
    # BundleConfig field 1 (Bundletool) holding field 2 (version): tags 0x0a and 0x12, each with its length.
    assert bundle.bundle_config("1.15.6") == b"\x0a\x08\x12\x06" + b"1.15.6"
    assert bundle.bundle_config_version(bundle.bundle_config("1.2.3")) == "1.2.3"
    assert bundle.bundle_config_version(b"") is None
    long_version = "9." * 70  # a length over 127 takes a two-byte varint
    assert bundle.bundle_config_version(bundle.bundle_config(long_version)) == long_version
    with pytest.raises(ValueError):
        bundle.bundle_config_version(b"\x0a\x85")  # a cut varint


def test_the_base_module_is_laid_out_as_bundletool_does(tmp_path: Path) -> None:
    out = tmp_path / "unsigned.aab"
    bundle.aab_assembled(linked_proto=_proto_apk(tmp_path / "proto.apk"), dex=b"dex\n035",
                         assets={"www/index.html": b"<h1>x</h1>", "hangar.json": b"{}"}, out=out,
                         zip_time=ZIP_TIMESTAMP)  # fmt: skip
    with zipfile.ZipFile(out) as aab:
        names = aab.namelist()
        assert names == [
            "BundleConfig.pb", "base/assets/hangar.json", "base/assets/www/index.html", "base/dex/classes.dex",
            "base/manifest/AndroidManifest.xml", "base/res/mipmap-mdpi-v4/ic_launcher.png", "base/resources.pb",
            "base/root/kotlin/extra.txt",
        ]  # fmt: skip
        assert aab.read("base/manifest/AndroidManifest.xml") == b"proto-manifest"
        assert aab.read("base/resources.pb") == b"proto-table"
        assert aab.read("base/dex/classes.dex") == b"dex\n035"
        assert bundle.bundle_config_version(aab.read("BundleConfig.pb")) == bundle.BUNDLETOOL_VERSION
        assert {info.date_time for info in aab.infolist()} == {ZIP_TIMESTAMP}
        assert len({info.external_attr for info in aab.infolist()}) == 1  # no file mode of this machine
    again = tmp_path / "again.aab"
    bundle.aab_assembled(linked_proto=tmp_path / "proto.apk", dex=b"dex\n035",
                         assets={"hangar.json": b"{}", "www/index.html": b"<h1>x</h1>"}, out=again,
                         zip_time=ZIP_TIMESTAMP)  # fmt: skip
    assert again.read_bytes() == out.read_bytes()  # the assets' order in the dict does not matter
    # The reverse, as the test stage reads it: the proto APK aapt2 convert takes, and the assets.
    assets = bundle.module_as_proto_apk(out, tmp_path / "back.apk")
    assert assets == {"hangar.json": b"{}", "www/index.html": b"<h1>x</h1>"}
    with zipfile.ZipFile(tmp_path / "back.apk") as back:
        assert sorted(back.namelist()) == ["AndroidManifest.xml", "res/mipmap-mdpi-v4/ic_launcher.png", "resources.pb"]


def test_a_profile_refuses_an_unknown_artifact_format(alice, tenant_a, pkcs12_keystore, db):  # type: ignore[no-untyped-def]
    from tests.builds.conftest import icon_png, web_bundle

    answer = alice.post(app_url(tenant_a, "/builds/profiles"), {
        "name": "default", "package_name": "com.example.shop", "label": "Shop", "version_code": 1,
        "version_name": "1", "artifact_format": "ipa", "icon": io.BytesIO(icon_png()),
        "web_bundle": io.BytesIO(web_bundle()),
    }, format="multipart")  # fmt: skip
    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid_build_spec"
    assert answer.json()["field"] == "artifact_format"


@pytest.fixture
def built_bundle(alice, tenant_a, jks_keystore, run_build, tmp_path, db):  # type: ignore[no-untyped-def]
    assert upload_credential(alice, tenant_a, jks_keystore).status_code == 201
    saved = save_profile(alice, tenant_a, artifact_format="aab")
    assert saved.status_code == 201, saved.content
    assert saved.json()["artifact_format"] == "aab"
    build = run_build(alice, tenant_a).json()
    assert build["state"] == "succeeded", build
    return build, downloaded(alice, build["download_url"], tmp_path, "app.aab")


@requires_toolchain
def test_a_bundle_is_built_signed_and_readable_from_the_api(built_bundle, jks_keystore, tmp_path):  # type: ignore[no-untyped-def]
    build, aab = built_bundle
    assert build["spec"]["artifact_format"] == "aab"
    assert build["report"]["passed"]
    assert build["report"]["jar_signature"]
    assert build["report"]["assets_match"]
    assert build["signer_sha256"] == jks_keystore.sha256
    # The JAR signature Play checks, by the JDK's own verifier, and its signer.
    assert "jar verified." in _tool("jarsigner", "-verify", aab).stdout
    assert jar_signer_certificate(aab) == jks_keystore.sha256
    with zipfile.ZipFile(aab) as archive:
        names = set(archive.namelist())
        assert set(bundle.REQUIRED_ENTRIES) <= names
        assert not any(name.startswith("base/") and name.endswith(".arsc") for name in names)  # no binary table
        for path, data in BUNDLE_FILES.items():
            assert archive.read(f"base/assets/www/{path}") == data
    # What Play does with it: the base module to a binary APK (aapt2 convert), whose badging is the profile's.
    assets = bundle.module_as_proto_apk(aab, tmp_path / "proto.apk")
    assert {k: v for k, v in assets.items() if k.startswith("www/")} == {f"www/{k}": v for k, v in BUNDLE_FILES.items()}
    _tool("aapt2", "convert", "--output-format", "binary", "-o", tmp_path / "binary.apk", tmp_path / "proto.apk")
    badging = _tool("aapt2", "dump", "badging", tmp_path / "binary.apk").stdout
    assert "package: name='com.example.shop' versionCode='42' versionName='1.4.2'" in badging
    assert "launchable-activity: name='app.hangar.shell.MainActivity'" in badging
    assert "uses-permission: name='android.permission.INTERNET'" in badging
    assert LABEL.replace('"', '\\"') in badging


@requires_toolchain
def test_a_bundle_is_reproducible_and_a_flipped_byte_fails_verification(  # type: ignore[no-untyped-def]
    built_bundle, alice, tenant_a, run_build, tmp_path
):
    _, aab = built_bundle
    second = run_build(alice, tenant_a).json()
    assert second["state"] == "succeeded", second
    assert downloaded(alice, second["download_url"], tmp_path, "again.aab").read_bytes() == aab.read_bytes()
    broken = tmp_path / "broken.aab"
    with zipfile.ZipFile(aab) as source, zipfile.ZipFile(broken, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "base/dex/classes.dex":
                data = data[:100] + bytes([data[100] ^ 0xFF]) + data[101:]
            target.writestr(info, data)
    assert _tool("jarsigner", "-verify", broken, ok=False).returncode != 0


@requires_toolchain
def test_the_bundles_download_and_install_page_say_aab(built_bundle, alice, tenant_a):  # type: ignore[no-untyped-def]
    build, _ = built_bundle
    path = "/" + build["download_url"].split("://", 1)[1].split("/", 1)[1]
    answer = alice.get(path)
    assert answer["Content-Disposition"] == 'attachment; filename="com.example.shop-1.4.2.aab"'
    assert answer["Content-Type"] == "application/octet-stream"
    page = alice.get("/" + build["install_url"].split("://", 1)[1].split("/", 1)[1]).content.decode()
    assert "Download the AAB" in page
    assert "upload it to Google Play" in page
    assert "<svg" not in page  # no QR code: a phone cannot install a bundle


@requires_toolchain
def test_the_test_stage_refuses_a_bundle_whose_entry_was_added_after_signing(  # type: ignore[no-untyped-def]
    built_bundle, tmp_path
):
    import time

    from hangar.builds import verify
    from hangar.builds.android.spec import AndroidBuildSpec, HangarConnection
    from hangar.builds.errors import VerificationError
    from hangar.builds.steps import StepRunner

    build, aab = built_bundle
    tampered = tmp_path / "tampered.aab"
    with zipfile.ZipFile(aab) as source, zipfile.ZipFile(tampered, "w") as target:
        for info in source.infolist():
            target.writestr(info, source.read(info))
        target.writestr("base/dex/classes2.dex", b"injected code")
    spec = AndroidBuildSpec(package_name="com.example.shop", label=LABEL, version_code=42, version_name="1.4.2",
                            icon_png=b"", connection=HangarConnection("", "", ""), artifact_format="aab")  # fmt: skip
    with pytest.raises(VerificationError, match="jar_signature"):
        verify.aab_report(tampered, spec=spec, signer_sha256=build["signer_sha256"],
                          runner=StepRunner(deadline=time.monotonic() + 120))  # fmt: skip
