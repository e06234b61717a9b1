"""Tenants never reach each other's builds, artifacts or credentials; roles and anonymous callers are held back."""

from __future__ import annotations

import pytest
from django.core import signing

from hangar.builds import artifacts
from hangar.builds.models import Build, SigningCredential
from tests.builds.conftest import STORE_PASSWORD, requires_toolchain, save_profile, upload_credential
from tests.tenants.conftest import app_url

pytestmark = [requires_toolchain, pytest.mark.django_db]


@pytest.fixture
def alices_build(alice, tenant_a, pkcs12_keystore, run_build):  # type: ignore[no-untyped-def]
    assert upload_credential(alice, tenant_a, pkcs12_keystore).status_code == 201
    assert save_profile(alice, tenant_a).status_code == 201
    build = run_build(alice, tenant_a).json()
    assert build["state"] == "succeeded"
    return build


def _bobs_url_to_alices_app(tenant_a, tenant_b, suffix: str) -> str:  # type: ignore[no-untyped-def]
    # Bob's own organization with Alice's app id, and Alice's organization: both must be unknown to him.
    return f"/api/v1/organizations/{tenant_b.organization.pk}/apps/{tenant_a.app.pk}{suffix}"


def test_another_tenant_cannot_see_or_cancel_a_build(alices_build, bob, tenant_a, tenant_b):  # type: ignore[no-untyped-def]
    number = alices_build["number"]
    for url in (
        app_url(tenant_a, f"/builds/{number}"),
        _bobs_url_to_alices_app(tenant_a, tenant_b, f"/builds/{number}"),
    ):
        assert bob.get(url).status_code == 404
        assert bob.get(url + "/log").status_code == 404
        assert bob.post(url + "/cancel").status_code == 404
    assert bob.get(app_url(tenant_a, "/builds")).status_code == 404
    assert bob.get(app_url(tenant_b, "/builds")).json() == []


def test_another_tenant_cannot_use_a_credential_by_name(alices_build, bob, tenant_b):  # type: ignore[no-untyped-def]
    answer = save_profile(bob, tenant_b, credential="release")
    assert answer.status_code == 400
    assert answer.json()["field"] == "credential"
    assert bob.get(app_url(tenant_b, "/builds/credentials")).json() == []


def test_a_profile_pointing_at_another_apps_credential_is_refused_at_request(alices_build, bob, tenant_a, tenant_b):  # type: ignore[no-untyped-def]
    """Even a row tampered in the database (a profile of Bob's naming Alice's credential) does not build."""
    from hangar.builds.errors import BuildSpecError
    from hangar.builds.models import BuildProfile
    from hangar.builds.queue import build_request

    assert save_profile(bob, tenant_b, credential="").status_code == 201
    profile = BuildProfile.objects.get(app=tenant_b.app)
    profile.credential = SigningCredential.objects.get(app=tenant_a.app)
    profile.save()
    with pytest.raises(BuildSpecError, match="credential"):
        build_request(app=tenant_b.app, profile=profile)


def test_a_sealed_credential_moved_to_another_app_does_not_open(alices_build, tenant_a, tenant_b):  # type: ignore[no-untyped-def]
    from hangar.builds.credentials import credential_open
    from hangar.builds.errors import VaultError

    credential = SigningCredential.objects.get(app=tenant_a.app)
    SigningCredential.objects.filter(pk=credential.pk).update(app=tenant_b.app)
    credential.refresh_from_db()
    with pytest.raises(VaultError):
        credential_open(credential=credential, build=None, agent="test", purpose="test")


def test_a_download_link_names_one_build_and_cannot_be_forged(alices_build, bob, tenant_a):  # type: ignore[no-untyped-def]
    build = Build.objects.get(uid=alices_build["uid"])
    assert (
        bob.get(f"/builds/artifacts/{artifacts.download_token(build)}").status_code == 200
    )  # the link is the capability
    forged = signing.dumps({"b": build.uid, "a": build.app_id}, salt="another-salt", compress=True)
    assert bob.get(f"/builds/artifacts/{forged}").status_code == 404
    other_app = signing.dumps({"b": build.uid, "a": build.app_id + 1}, salt="hangar.builds.artifact", compress=True)
    assert bob.get(f"/builds/artifacts/{other_app}").status_code == 404
    assert bob.get("/builds/artifacts/garbage").status_code == 404
    assert bob.get("/builds/install/garbage").status_code == 404


def test_an_expired_link_is_refused(alices_build, alice, settings):  # type: ignore[no-untyped-def]
    settings.HANGAR_BUILDS_LINK_TTL_SECONDS = -1
    token = artifacts.download_token(Build.objects.get(uid=alices_build["uid"]))
    assert alice.get(f"/builds/artifacts/{token}").status_code == 404


def test_no_api_answer_or_audit_event_carries_a_secret(alices_build, alice, tenant_a):  # type: ignore[no-untyped-def]
    from tenants.models import AuditEvent

    listing = alice.get(app_url(tenant_a, "/builds/credentials"))
    assert listing.status_code == 200
    [row] = listing.json()
    assert set(row) == {"name", "platform", "kind", "alias", "certificate_sha256", "certificate_subject", "summary",
                        "kek_id", "created_at", "rotated_at", "last_used_at"}  # fmt: skip
    assert row["summary"] == {}
    everything = str(listing.json()) + str(alices_build) + str(list(AuditEvent.objects.values("details")))
    assert STORE_PASSWORD not in everything
    assert "keystore" not in str(row)
    stored = SigningCredential.objects.get(app=tenant_a.app)
    assert STORE_PASSWORD.encode() not in bytes(stored.sealed)
    assert b"release" not in bytes(stored.sealed)


def test_roles_and_anonymous_callers(alices_build, tenant_a, member_of, pkcs12_keystore):  # type: ignore[no-untyped-def]
    from rest_framework.test import APIClient

    viewer = member_of("viewer")
    assert viewer.client.get(app_url(tenant_a, "/builds")).status_code == 200
    assert viewer.client.post(app_url(tenant_a, "/builds"), {"profile": "default"}, format="json").status_code == 403
    assert save_profile(viewer.client, tenant_a).status_code == 403
    developer = member_of("developer")
    assert upload_credential(developer.client, tenant_a, pkcs12_keystore, name="mine").status_code == 403
    assert developer.client.delete(app_url(tenant_a, "/builds/credentials/release")).status_code == 403
    anonymous = APIClient()
    assert anonymous.get(app_url(tenant_a, "/builds")).status_code == 401
    assert anonymous.post(app_url(tenant_a, "/builds"), {"profile": "default"}, format="json").status_code == 401


def test_artifacts_and_logs_expire_by_retention(alices_build, alice, tenant_a):  # type: ignore[no-untyped-def]
    from django.utils import timezone

    from hangar.builds.models import BuildLogLine
    from hangar.builds.runner import builds_expire
    from hangar.files.adapters import storage_for

    build = Build.objects.get(uid=alices_build["uid"])
    assert build.expires_at is not None
    assert (build.expires_at - build.finished_at).days == 30  # HANGAR_BUILDS_RETENTION_DAYS, no plan override
    token = artifacts.download_token(build)
    key, backend = build.artifact_key, build.artifact_backend
    assert builds_expire() == 0  # nothing is due yet
    Build.objects.filter(pk=build.pk).update(expires_at=timezone.now())
    assert builds_expire() == 1
    build.refresh_from_db()
    assert build.artifact_key == ""
    assert not BuildLogLine.objects.filter(build=build).exists()
    assert alice.get(f"/builds/artifacts/{token}").status_code == 404
    with pytest.raises(FileNotFoundError):
        list(storage_for(backend).read(key, start=0, end=10))
    assert alice.get(app_url(tenant_a, f"/builds/{build.number}")).json()["state"] == "succeeded"  # history stays
    assert builds_expire() == 0  # done once


def test_a_failed_builds_log_expires_too(alice, tenant_a, pkcs12_keystore, run_build):  # type: ignore[no-untyped-def]
    from django.utils import timezone

    from hangar.builds.models import BuildLogLine
    from hangar.builds.runner import builds_expire

    upload_credential(alice, tenant_a, pkcs12_keystore, key_password="wrong")  # PKCS12: fails at signing
    save_profile(alice, tenant_a)
    build = Build.objects.get(uid=run_build(alice, tenant_a).json()["uid"])
    assert build.state == "failed"
    assert BuildLogLine.objects.filter(build=build).exists()
    Build.objects.filter(pk=build.pk).update(expires_at=timezone.now())
    assert builds_expire() == 1
    assert not BuildLogLine.objects.filter(build=build).exists()
