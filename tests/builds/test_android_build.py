"""A signed APK built end to end from the management API, checked with the platform's own tools."""

from __future__ import annotations

import re
import subprocess
import zipfile
from pathlib import Path

import pytest

from hangar.builds.models import Build, BuildLogLine, SigningCredentialUse
from tests.builds.conftest import (
    BUNDLE_FILES,
    KEY_PASSWORD,
    LABEL,
    STORE_PASSWORD,
    downloaded,
    requires_toolchain,
    save_profile,
    upload_credential,
)
from tests.tenants.conftest import app_url

pytestmark = [requires_toolchain, pytest.mark.django_db]


def _tool(*args: str | Path) -> str:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture
def built(alice, tenant_a, pkcs12_keystore, run_build, tmp_path):  # type: ignore[no-untyped-def]
    assert upload_credential(alice, tenant_a, pkcs12_keystore).status_code == 201
    assert save_profile(alice, tenant_a).status_code == 201
    build = run_build(alice, tenant_a).json()
    assert build["state"] == "succeeded", build
    return build, downloaded(alice, build["download_url"], tmp_path)


def test_the_apk_is_signed_v2_and_v3_by_the_keystores_certificate(built, pkcs12_keystore):  # type: ignore[no-untyped-def]
    build, apk = built
    out = _tool("apksigner", "verify", "--verbose", "--print-certs", apk)
    assert "Verified using v2 scheme (APK Signature Scheme v2): true" in out
    assert "Verified using v3 scheme (APK Signature Scheme v3): true" in out
    assert f"Signer #1 certificate SHA-256 digest: {pkcs12_keystore.sha256}" in out
    assert build["signer_sha256"] == pkcs12_keystore.sha256
    _tool("zipalign", "-c", "-p", "4", apk)


def test_badging_shows_the_profile(built):  # type: ignore[no-untyped-def]
    _, apk = built
    badging = _tool("aapt2", "dump", "badging", apk)
    assert "package: name='com.example.shop' versionCode='42' versionName='1.4.2'" in badging
    label = re.search(r"^application-label:'(.*)'$", badging, re.MULTILINE)
    assert label
    assert label.group(1).replace('\\"', '"') == LABEL
    assert "launchable-activity: name='app.hangar.shell.MainActivity'" in badging
    assert "uses-permission: name='android.permission.INTERNET'" in badging
    icons = re.findall(r"^application-icon-(\d+):'(res/mipmap-[a-z]+-v4/ic_launcher.png)'$", badging, re.MULTILINE)
    assert {density for density, _ in icons} == {"160", "240", "320", "480", "640"}
    manifest = _tool("aapt2", "dump", "xmltree", "--file", "AndroidManifest.xml", apk)
    activity = manifest[manifest.index("E: activity") :]
    assert re.search(r"A: http://schemas.android.com/apk/res/android:exported\(0x[0-9a-f]+\)=true", activity), activity


def test_the_dex_holds_the_shell_activity_and_its_start_url(built, tmp_path, tenant_a):  # type: ignore[no-untyped-def]
    _, apk = built
    with zipfile.ZipFile(apk) as archive:
        (tmp_path / "classes.dex").write_bytes(archive.read("classes.dex"))
    dump = _tool("dexdump", "-d", "-a", tmp_path / "classes.dex")
    assert "Class descriptor  : 'Lapp/hangar/shell/MainActivity;'" in dump
    assert "Superclass        : 'Landroid/app/Activity;'" in dump
    assert 'value         : "file:///android_asset/www/index.html"' in dump
    assert 'const-string v3, "file:///android_asset/www/index.html"' in dump
    assert "Landroid/webkit/WebView;.loadUrl:(Ljava/lang/String;)V" in dump
    # The page reads its backend through window.Hangar.config(), a JavaScript interface.
    assert "Class descriptor  : 'Lapp/hangar/shell/HangarBridge;'" in dump
    assert "Landroid/webkit/WebView;.addJavascriptInterface:(Ljava/lang/Object;Ljava/lang/String;)V" in dump
    assert "Landroid/webkit/JavascriptInterface;" in dump
    assert f'\\"applicationId\\": \\"{tenant_a.application_id}\\"' in dump  # the connection, in the bridge


def test_assets_are_the_bundle_byte_for_byte_with_the_connection(built, tenant_a):  # type: ignore[no-untyped-def]
    import json

    _, apk = built
    with zipfile.ZipFile(apk) as archive:
        assets = {
            n.removeprefix("assets/www/"): archive.read(n) for n in archive.namelist() if n.startswith("assets/www/")
        }
        connection = json.loads(archive.read("assets/hangar.json"))
    assert assets == BUNDLE_FILES
    assert connection["applicationId"] == tenant_a.application_id
    assert connection["clientKey"] == tenant_a.keys["client"]
    assert connection["serverURL"].endswith("/parse")


def test_a_second_build_of_the_same_spec_is_byte_identical(built, alice, tenant_a, run_build, tmp_path):  # type: ignore[no-untyped-def]
    first, apk = built
    second = run_build(alice, tenant_a).json()
    assert second["number"] == first["number"] + 1
    again = downloaded(alice, second["download_url"], tmp_path, "again.apk")
    assert again.read_bytes() == apk.read_bytes()
    assert second["artifact_sha256"] == first["artifact_sha256"]


def test_the_report_steps_log_and_vault_audit_are_kept(built, tenant_a):  # type: ignore[no-untyped-def]
    build, _ = built
    assert build["report"]["passed"] is True
    assert build["report"]["signature_schemes"]["v2"]
    assert build["report"]["signature_schemes"]["v3"]
    names = [step["name"] for step in build["steps"]]
    assert names == ["validate", "unseal", "render", "dex", "resources", "package", "sign", "verify_signature",
                     "test", "upload"]  # fmt: skip
    assert all(step["state"] == "succeeded" for step in build["steps"])
    row = Build.objects.get(uid=build["uid"])
    text = "\n".join(BuildLogLine.objects.filter(build=row).values_list("text", flat=True))
    assert "smali assemble" in text
    assert "Verifies" in text
    assert STORE_PASSWORD not in text  # passwords travel by environment, never argv or the log
    assert SigningCredentialUse.objects.filter(build=row, purpose="android-sign").count() == 1
    assert row.web_bundle is None  # inputs are dropped once the build ended


def test_a_jks_keystore_with_its_own_key_password_signs_too(alice, tenant_a, jks_keystore, run_build, tmp_path):  # type: ignore[no-untyped-def]
    assert upload_credential(alice, tenant_a, jks_keystore, name="jks").status_code == 201
    assert (
        save_profile(alice, tenant_a, name="jks", credential="jks", package_name="org.example.jks").status_code == 201
    )
    build = run_build(alice, tenant_a, profile="jks").json()
    assert build["state"] == "succeeded", build
    apk = downloaded(alice, build["download_url"], tmp_path)
    out = _tool("apksigner", "verify", "--print-certs", apk)
    assert f"Signer #1 certificate SHA-256 digest: {jks_keystore.sha256}" in out
    assert KEY_PASSWORD not in "\n".join(BuildLogLine.objects.values_list("text", flat=True))


def test_a_flipped_byte_fails_verification(built, tmp_path):  # type: ignore[no-untyped-def]
    _, apk = built
    data = bytearray(apk.read_bytes())
    with zipfile.ZipFile(apk) as archive:
        info = archive.getinfo("classes.dex")
    data[info.header_offset + 30 + len(info.filename) + 10] ^= 0xFF  # inside the stored classes.dex data
    broken = tmp_path / "broken.apk"
    broken.write_bytes(bytes(data))
    result = subprocess.run(["apksigner", "verify", str(broken)], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "DOES NOT VERIFY" in result.stdout + result.stderr or "digest" in (result.stdout + result.stderr).lower()


def test_the_install_page_shows_a_qr_code_of_the_download_link(built, alice):  # type: ignore[no-untyped-def]
    build, _ = built
    path = "/" + build["install_url"].split("://", 1)[1].split("/", 1)[1]
    page = alice.get(path)
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html
    assert build["signer_sha256"] in html
    assert "/builds/artifacts/" in html


def test_the_build_list_is_newest_first(built, alice, tenant_a):  # type: ignore[no-untyped-def]
    listing = alice.get(app_url(tenant_a, "/builds")).json()
    assert [b["number"] for b in listing] == [built[0]["number"]]


def test_artifacts_go_to_the_configured_storage(backend, alice, tenant_a, pkcs12_keystore, run_build, tmp_path):  # type: ignore[no-untyped-def]
    """Local folder or S3 (a moto server): the link downloads the same bytes the build recorded."""
    import hashlib

    from django.conf import settings

    assert upload_credential(alice, tenant_a, pkcs12_keystore).status_code == 201
    assert save_profile(alice, tenant_a).status_code == 201
    build = run_build(alice, tenant_a).json()
    assert build["state"] == "succeeded", build
    apk = downloaded(alice, build["download_url"], tmp_path)
    assert hashlib.sha256(apk.read_bytes()).hexdigest() == build["artifact_sha256"]
    row = Build.objects.get(uid=build["uid"])
    assert row.artifact_backend == backend
    if backend == "s3":
        import boto3

        from tests.files.conftest import S3_BUCKET

        client = boto3.client("s3", endpoint_url=settings.HANGAR_FILES_S3_ENDPOINT_URL, region_name="us-east-1",
                              aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
        keys = [o["Key"] for o in client.list_objects_v2(Bucket=S3_BUCKET).get("Contents", [])]
        assert any(key.endswith(row.artifact_key) for key in keys), keys
