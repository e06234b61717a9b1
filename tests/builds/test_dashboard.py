"""The Builds page: credentials, profiles, starting a build, its live fragment with the artifact and QR code."""

from __future__ import annotations

import io

import pytest
from django.test import Client
from django.urls import reverse

from hangar.builds.models import Build, SigningCredential
from tests.builds.conftest import icon_png, requires_toolchain, web_bundle
from tests.dashboard.conftest import logged_in

pytestmark = [requires_toolchain, pytest.mark.django_db]


def _url(tenant, name: str, **kwargs) -> str:  # type: ignore[no-untyped-def]
    return reverse(f"dashboard:{name}", kwargs={"organization_id": tenant.organization.pk, "app_id": tenant.app.pk,
                                                **kwargs})  # fmt: skip


def _upload_and_save(client: Client, tenant, keystore, artifact_format: str = "apk") -> None:  # type: ignore[no-untyped-def]
    answer = client.post(_url(tenant, "builds_credential_upload"), {
        "name": "release", "kind": keystore.kind, "alias": keystore.alias,
        "keystore": io.BytesIO(keystore.path.read_bytes()), "store_password": keystore.store_password,
    })  # fmt: skip
    assert answer.status_code == 302
    icon = io.BytesIO(icon_png())
    icon.name = "icon.png"
    bundle = io.BytesIO(web_bundle())
    bundle.name = "site.zip"
    answer = client.post(_url(tenant, "builds_profile_save"), {
        "name": "default", "package_name": "com.example.dash", "label": "Dash", "version_code": "5",
        "version_name": "5.0", "credential": "release", "icon": icon, "web_bundle": bundle,
        "artifact_format": artifact_format,
    })  # fmt: skip
    assert answer.status_code == 302


def test_a_developer_builds_from_the_dashboard(tenant_a, pkcs12_keystore, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    client = logged_in(tenant_a.developer)
    _upload_and_save(client, tenant_a, pkcs12_keystore)
    page = client.get(_url(tenant_a, "builds")).content.decode()
    assert pkcs12_keystore.sha256 in page
    assert "com.example.dash" in page
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(_url(tenant_a, "builds_start"), {"profile": "default"})
    assert answer.status_code == 302
    build = Build.objects.get(app=tenant_a.app)
    assert answer["Location"] == _url(tenant_a, "build_detail", number=build.number)
    detail = client.get(answer["Location"]).content.decode()
    assert 'id="build-state">succeeded<' in detail
    assert "<svg" in detail
    assert "/builds/artifacts/" in detail
    assert "smali assemble" in detail  # the log
    fragment = client.get(answer["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert fragment.startswith("{#") is False
    assert 'id="build-live"' in fragment
    assert "hx-trigger" not in fragment  # an ended build is not polled


def test_a_failed_upload_says_why(tenant_a, pkcs12_keystore):  # type: ignore[no-untyped-def]
    client = logged_in(tenant_a.developer)
    answer = client.post(_url(tenant_a, "builds_credential_upload"), {
        "name": "release", "kind": "pkcs12", "alias": pkcs12_keystore.alias,
        "keystore": io.BytesIO(pkcs12_keystore.path.read_bytes()), "store_password": "wrong",
    }, follow=True)  # fmt: skip
    assert "Credential refused" in answer.content.decode()
    assert not SigningCredential.objects.exists()


def test_other_tenants_and_lower_roles_are_held_back(tenant_a, tenant_b, add_member, pkcs12_keystore):  # type: ignore[no-untyped-def]
    bob = logged_in(tenant_b.developer)
    assert bob.get(_url(tenant_a, "builds")).status_code == 404
    assert bob.post(_url(tenant_a, "builds_start"), {"profile": "default"}).status_code == 404
    add_member(tenant_a, "vic", "viewer")
    from tenants.models import Developer

    viewer = logged_in(Developer.objects.get(email="vic@example.com"))
    page = viewer.get(_url(tenant_a, "builds"))
    assert page.status_code == 200
    assert 'id="credential-form"' not in page.content.decode()
    assert viewer.post(_url(tenant_a, "builds_start"), {"profile": "default"}).status_code == 403
    add_member(tenant_a, "dev", "developer")
    developer = logged_in(Developer.objects.get(email="dev@example.com"))
    answer = developer.post(_url(tenant_a, "builds_credential_upload"), {
        "name": "x", "kind": "pkcs12", "alias": "release", "keystore": io.BytesIO(b"x"), "store_password": "x",
    })  # fmt: skip
    assert answer.status_code == 403


def test_a_queued_build_page_streams_its_log_and_polls_its_state(tenant_a, pkcs12_keystore):  # type: ignore[no-untyped-def]
    from hangar.builds import queue
    from hangar.builds.models import BuildProfile

    client = logged_in(tenant_a.developer)
    _upload_and_save(client, tenant_a, pkcs12_keystore)
    build = queue.build_request(app=tenant_a.app, profile=BuildProfile.objects.get(app=tenant_a.app))
    page = client.get(_url(tenant_a, "build_detail", number=build.number)).content.decode()
    assert 'data-stream="/builds/log/' in page
    assert 'data-after="0"' in page
    assert "dashboard/build_log.js" in page
    assert 'hx-trigger="every 1s"' in page


def test_a_bundle_built_from_the_dashboard_offers_its_download_without_a_qr_code(  # type: ignore[no-untyped-def]
    tenant_a, pkcs12_keystore, django_capture_on_commit_callbacks
):
    client = logged_in(tenant_a.developer)
    _upload_and_save(client, tenant_a, pkcs12_keystore, artifact_format="aab")
    assert "AAB" in client.get(_url(tenant_a, "builds")).content.decode()  # the profile's output, listed
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(_url(tenant_a, "builds_start"), {"profile": "default"})
    detail = client.get(answer["Location"]).content.decode()
    assert 'id="build-state">succeeded<' in detail
    assert "Download the AAB" in detail
    assert "JAR signature" in detail  # the bundle's test stage passed
    assert "QR code" not in detail  # a phone cannot install a bundle
    assert Build.objects.get(app=tenant_a.app).artifact_key.endswith(".aab")


def test_an_unknown_output_format_is_refused_on_the_page(tenant_a, pkcs12_keystore):  # type: ignore[no-untyped-def]
    client = logged_in(tenant_a.developer)
    icon = io.BytesIO(icon_png())
    icon.name = "icon.png"
    answer = client.post(_url(tenant_a, "builds_profile_save"), {
        "name": "default", "package_name": "com.example.dash", "label": "Dash", "version_code": "5",
        "version_name": "5.0", "start_url": "https://dash.example.com/", "icon": icon, "artifact_format": "ipa",
    }, follow=True)  # fmt: skip
    assert "Profile refused: artifact_format must be one of apk, aab." in answer.content.decode()
