"""Bad inputs fail with a clear error and leave no artifact; the vault refuses what it cannot open."""

from __future__ import annotations

import io

import pytest

from hangar.builds.models import Build, BuildProfile, SigningCredential
from tests.builds.conftest import requires_toolchain, save_profile, upload_credential, web_bundle
from tests.tenants.conftest import app_url

pytestmark = [requires_toolchain, pytest.mark.django_db]


def test_a_wrong_store_password_is_refused_at_upload_and_nothing_is_stored(alice, tenant_a, pkcs12_keystore):  # type: ignore[no-untyped-def]
    answer = upload_credential(alice, tenant_a, pkcs12_keystore, store_password="not-the-password")
    assert answer.status_code == 400
    assert answer.json()["code"] == "signing_failed"
    assert "could not be opened" in answer.json()["detail"]
    assert not SigningCredential.objects.exists()


def test_a_wrong_key_password_fails_the_build_with_no_artifact(alice, tenant_a, jks_keystore, run_build):  # type: ignore[no-untyped-def]
    # keytool opens a JKS store with the store password alone: the key's password is first used by apksigner.
    assert upload_credential(alice, tenant_a, jks_keystore, key_password="wrong-key-pass").status_code == 201
    assert save_profile(alice, tenant_a).status_code == 201
    build = run_build(alice, tenant_a).json()
    assert build["state"] == "failed"
    assert build["error_code"] == "signing_failed"
    assert "wrong password" in build["error_message"]
    assert build["download_url"] is None
    assert Build.objects.get(uid=build["uid"]).artifact_key == ""
    assert "wrong-key-pass" not in str(build)


def test_a_non_png_icon_is_refused(alice, tenant_a, pkcs12_keystore):  # type: ignore[no-untyped-def]
    upload_credential(alice, tenant_a, pkcs12_keystore)
    answer = save_profile(alice, tenant_a, icon=io.BytesIO(b"GIF89a" + b"\x00" * 100))
    assert answer.status_code == 400
    assert answer.json() == {"code": "invalid_build_spec", "detail": "icon must be a PNG image.", "field": "icon"}
    truncated = save_profile(alice, tenant_a, icon=io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40))
    assert truncated.status_code == 400
    assert truncated.json()["field"] == "icon"
    assert not BuildProfile.objects.exists()


@pytest.mark.parametrize(
    "package_name",
    [
        "shop",
        "com.example.",
        "com.1example.shop",
        "com.example.class",
        "com.exa mple.shop",
        "com..shop",
        "com.ex-ample",
    ],
)
def test_an_invalid_package_name_is_refused(alice, tenant_a, pkcs12_keystore, package_name):  # type: ignore[no-untyped-def]
    upload_credential(alice, tenant_a, pkcs12_keystore)
    answer = save_profile(alice, tenant_a, package_name=package_name)
    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid_build_spec"
    assert answer.json()["field"] == "package_name"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"version_code": 0}, "version_code"),
        ({"version_code": 2_100_000_001}, "version_code"),
        ({"start_url": "javascript:alert(1)", "web_bundle": None}, "start_url"),
        ({"start_url": "file:///etc/passwd", "web_bundle": None}, "start_url"),
        ({"start_url": "https://user:pw@example.com/", "web_bundle": None}, "start_url"),
        ({"start_url": "", "web_bundle": None}, "web_bundle"),
        ({"web_bundle": io.BytesIO(b"not a zip")}, "web_bundle"),
        ({"web_bundle": io.BytesIO(web_bundle({"main.html": b"x"}))}, "web_bundle"),
        ({"web_bundle": io.BytesIO(web_bundle({"index.html": b"x", "../escape.txt": b"x"}))}, "web_bundle"),
        ({"label": "tab\there"}, "label"),
        ({"credential": "nope"}, "credential"),
    ],
)
def test_other_bad_profiles_name_their_field(alice, tenant_a, pkcs12_keystore, overrides, field):  # type: ignore[no-untyped-def]
    upload_credential(alice, tenant_a, pkcs12_keystore)
    answer = save_profile(alice, tenant_a, **overrides)
    assert answer.status_code == 400, answer.content
    assert answer.json()["field"] == field


def test_a_start_url_profile_builds_without_a_bundle(alice, tenant_a, pkcs12_keystore, run_build):  # type: ignore[no-untyped-def]
    upload_credential(alice, tenant_a, pkcs12_keystore)
    answer = save_profile(alice, tenant_a, start_url='https://shop.example.com/app?x="1"', web_bundle=None)
    assert answer.status_code == 201
    build = run_build(alice, tenant_a).json()
    assert build["state"] == "succeeded", build


def test_a_build_needs_a_known_profile(alice, tenant_a):  # type: ignore[no-untyped-def]
    answer = alice.post(app_url(tenant_a, "/builds"), {"profile": "missing"}, format="json")
    assert answer.status_code == 404
    assert answer.json()["code"] == "not_found"


def test_malformed_requests_get_a_clear_400_never_a_500(alice, tenant_a, pkcs12_keystore, run_build):  # type: ignore[no-untyped-def]
    url = app_url(tenant_a, "/builds")
    assert alice.post(app_url(tenant_a, "/builds/credentials"), {"name": "x"}, format="json").status_code == 400
    no_icon = save_profile(alice, tenant_a, icon=None)
    assert no_icon.status_code == 400
    assert no_icon.json()["field"] == "icon"
    words = save_profile(alice, tenant_a, version_code="forty-two")
    assert words.status_code == 400
    assert words.json()["field"] == "version_code"
    assert alice.post(url, "not json", content_type="application/json").status_code == 400
    assert alice.post(url, ["a", "list"], format="json").status_code == 400
    upload_credential(alice, tenant_a, pkcs12_keystore)
    save_profile(alice, tenant_a)
    number = run_build(alice, tenant_a).json()["number"]
    bad_cursor = alice.get(app_url(tenant_a, f"/builds/{number}/log?after=abc"))
    assert bad_cursor.status_code == 400
    assert bad_cursor.json()["field"] == "after"
    assert alice.get(app_url(tenant_a, f"/builds/{number}/log?after=3")).json()["lines"][0]["seq"] == 4
    assert alice.get(app_url(tenant_a, "/builds/999")).status_code == 404
