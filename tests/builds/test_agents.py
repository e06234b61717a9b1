"""Remote agents: a separate agent process builds over HTTP from a live server; tokens and ownership are enforced."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys

import pytest
from django.test import Client

from hangar.builds import queue
from hangar.builds.agents import agent_create
from hangar.builds.models import Build, BuildAgent, BuildLogLine, BuildProfile, SigningCredentialUse
from tests.builds.conftest import requires_toolchain, save_profile, upload_credential
from tests.conftest import REPO_DIR, make_tenant
from tests.tenants.conftest import client_for

pytestmark = [requires_toolchain]


def _queued_build(name: str, keystore):  # type: ignore[no-untyped-def]
    tenant = make_tenant(name)
    client = client_for(tenant.developer)
    assert upload_credential(client, tenant, keystore).status_code == 201
    assert save_profile(client, tenant).status_code == 201
    return tenant, queue.build_request(app=tenant.app, profile=BuildProfile.objects.get(app=tenant.app))


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_remote_agent_process_builds_a_signed_apk(live_server, queued_in_broker, pkcs12_keystore, tmp_path):  # type: ignore[no-untyped-def]
    _, build = _queued_build("remote", pkcs12_keystore)
    _, token = agent_create(name="linux-1", platforms=["android"])
    (tmp_path / "token").write_text(token)
    env = {**os.environ, "PYTHONPATH": f"{REPO_DIR / 'platform'}:{REPO_DIR}"}
    for name in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"):  # the agent knows only the platform's URL
        env.pop(name, None)
    result = subprocess.run(
        [sys.executable, "-m", "hangar.builds.agent", "--url", live_server.url, "--token-file", str(tmp_path / "token"),
         "--once", "--workdir", str(tmp_path)],
        env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert token not in result.stdout + result.stderr
    build.refresh_from_db()
    assert build.state == "succeeded", (build.error_code, build.error_message)
    assert build.agent == "agent:linux-1"
    assert build.signer_sha256 == pkcs12_keystore.sha256
    assert build.report["passed"] is True  # the platform's own test stage, after the agent's upload
    text = list(BuildLogLine.objects.filter(build=build).order_by("seq").values_list("step", "text"))
    assert any(step == "dex" and "smali assemble" in line for step, line in text)  # streamed by the agent
    assert any(step == "test" and "aapt2 dump badging" in line for step, line in text)  # run by the platform
    assert SigningCredentialUse.objects.get(build=build).agent == "agent:linux-1"
    agent = BuildAgent.objects.get(name="linux-1")
    assert agent.capabilities["platforms"] == ["android"]
    assert agent.registered_at is not None


def _post(client: Client, path: str, token: str | None, body: object = None, **extra):  # type: ignore[no-untyped-def]
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client.post(f"/api/v1/agents/{path}", json.dumps(body or {}), content_type="application/json",
                       **headers, **extra)  # fmt: skip


@pytest.mark.django_db
def test_agent_calls_need_a_valid_token_and_their_own_build(queued_in_broker, pkcs12_keystore):  # type: ignore[no-untyped-def]
    client = Client()
    _, build = _queued_build("owned", pkcs12_keystore)
    _, token = agent_create(name="one", platforms=["android"])
    _, other_token = agent_create(name="two", platforms=["android"])
    assert _post(client, "register", None).status_code == 401
    assert _post(client, "register", "hga_not-a-token").status_code == 401
    assert _post(client, "jobs/claim", token, {"platform": "android"}).status_code == 400  # not registered yet
    for each in (token, other_token):
        assert _post(client, "register", each, {"capabilities": {"platforms": ["android", "ios"]}}).status_code == 200
    assert BuildAgent.objects.get(name="one").capabilities["platforms"] == ["android"]  # only what it was created for
    job = _post(client, "jobs/claim", token, {"platform": "android"}).json()
    assert job["uid"] == build.uid
    assert base64.b64decode(job["signing"]["keystore"]) == pkcs12_keystore.path.read_bytes()
    assert _post(client, "jobs/claim", other_token, {"platform": "android"}).status_code == 204  # nothing left
    # Another agent may neither write to nor finish this build; a stale attempt is refused.
    assert _post(client, f"jobs/{build.uid}/log", other_token, {"attempt": 1, "lines": []}).status_code == 404
    stolen = client.post(f"/api/v1/agents/jobs/{build.uid}/finish",
                         {"outcome": json.dumps({"attempt": 1, "state": "failed"})},
                         HTTP_AUTHORIZATION=f"Bearer {other_token}")  # fmt: skip
    assert stolen.status_code == 404
    assert _post(client, f"jobs/{build.uid}/log", token, {"attempt": 2, "lines": []}).status_code == 409
    # A succeeded outcome without an APK, or with bytes that are not one, never becomes an artifact.
    empty = client.post(f"/api/v1/agents/jobs/{build.uid}/finish",
                        {"outcome": json.dumps({"attempt": 1, "state": "succeeded"})},
                        HTTP_AUTHORIZATION=f"Bearer {token}")  # fmt: skip
    assert empty.status_code == 400
    from django.core.files.uploadedfile import SimpleUploadedFile

    forged = client.post(f"/api/v1/agents/jobs/{build.uid}/finish", {
        "outcome": json.dumps({"attempt": 1, "state": "succeeded", "signer_sha256": pkcs12_keystore.sha256}),
        "artifact": SimpleUploadedFile("app.apk", b"PK\x03\x04 not an apk"),
    }, HTTP_AUTHORIZATION=f"Bearer {token}")  # fmt: skip
    assert forged.status_code == 200
    assert forged.json()["state"] == "failed"
    build.refresh_from_db()
    assert build.artifact_key == ""
    BuildAgent.objects.filter(name="one").update(enabled=False)
    assert _post(client, "heartbeat", token).status_code == 401


@pytest.mark.django_db
def test_a_cancel_reaches_the_agent_through_its_log_calls(queued_in_broker, pkcs12_keystore):  # type: ignore[no-untyped-def]
    client = Client()
    tenant, build = _queued_build("cancel-remote", pkcs12_keystore)
    _, token = agent_create(name="three", platforms=["android"])
    _post(client, "register", token, {"capabilities": {"platforms": ["android"]}})
    _post(client, "jobs/claim", token, {"platform": "android"})
    assert _post(client, f"jobs/{build.uid}/log", token, {"attempt": 1, "lines": []}).json() == {"cancel": False}
    queue.build_cancel(app=tenant.app, uid=build.uid)
    assert _post(client, f"jobs/{build.uid}/log", token, {"attempt": 1}).json() == {"cancel": True}
    assert _post(client, "heartbeat", token).json() == {"cancel": [build.uid]}
    ended = client.post(f"/api/v1/agents/jobs/{build.uid}/finish",
                        {"outcome": json.dumps({"attempt": 1, "state": "cancelled"})},
                        HTTP_AUTHORIZATION=f"Bearer {token}")  # fmt: skip
    assert ended.json()["state"] == Build.State.CANCELLED


@pytest.mark.django_db
def test_an_agent_builds_a_bundle_and_the_platform_tests_it(queued_in_broker, jks_keystore, tmp_path):  # type: ignore[no-untyped-def]
    """The job names the bundle format; the agent's AAB passes the platform's test stage; an APK in its place fails."""
    import time

    from django.core.files.uploadedfile import SimpleUploadedFile

    from hangar.builds.agent import material_from_job, spec_from_job
    from hangar.builds.android.toolchain import DebianAndroidToolchain
    from hangar.builds.steps import StepRunner

    client = Client()
    tenant = make_tenant("bundler")
    developer = client_for(tenant.developer)
    assert upload_credential(developer, tenant, jks_keystore).status_code == 201
    assert save_profile(developer, tenant, artifact_format="aab").status_code == 201
    profile = BuildProfile.objects.get(app=tenant.app)
    builds = [queue.build_request(app=tenant.app, profile=profile) for _ in range(2)]
    _, token = agent_create(name="bundler-agent", platforms=["android"])
    _post(client, "register", token, {"capabilities": {"platforms": ["android"]}})

    def built(format_: str, folder: str) -> tuple[dict, bytes, str]:  # type: ignore[type-arg]
        job = _post(client, "jobs/claim", token, {"platform": "android"}).json()
        spec = spec_from_job(job)
        assert spec.artifact_format == "aab"
        spec = type(spec)(**{**spec.__dict__, "artifact_format": format_})
        (tmp_path / folder).mkdir()
        artifact = DebianAndroidToolchain().build(spec, material_from_job(job), workdir=tmp_path / folder,
                                                  runner=StepRunner(deadline=time.monotonic() + 300))  # fmt: skip
        return job, artifact.path.read_bytes(), artifact.signer_sha256

    def finish(job: dict, data: bytes, signer: str):  # type: ignore[no-untyped-def,type-arg]
        return client.post(f"/api/v1/agents/jobs/{job['uid']}/finish", {
            "outcome": json.dumps({"attempt": job["attempt"], "state": "succeeded", "signer_sha256": signer}),
            "artifact": SimpleUploadedFile("app-release.aab", data),
        }, HTTP_AUTHORIZATION=f"Bearer {token}")  # fmt: skip

    job, aab, signer = built("aab", "first")
    assert finish(job, aab, signer).json()["state"] == "succeeded"
    first = Build.objects.get(uid=job["uid"])
    assert first.report["jar_signature"] is True
    assert first.report["artifact_format"] == "aab"
    assert first.artifact_key.endswith(".aab")
    assert first.signer_sha256 == jks_keystore.sha256
    job, apk, signer = built("apk", "second")  # an agent that made an APK where the profile asked for a bundle
    answer = finish(job, apk, signer).json()
    assert answer["state"] == "failed"
    assert Build.objects.get(uid=job["uid"]).artifact_key == ""
    assert {b.uid for b in builds} == {first.uid, job["uid"]}
