"""The queue: fair share between tenants, per-app concurrency, cancel in every state, timeouts, a retried crash."""

from __future__ import annotations

import os
import threading
import time

import pytest
from django.db import connection
from django.utils import timezone

from hangar.builds import queue
from hangar.builds.models import Build, BuildProfile
from hangar.builds.runner import build_execute, build_reap
from tests.builds.conftest import hanging_tool, requires_toolchain, save_profile, upload_credential
from tests.conftest import make_tenant
from tests.tenants.conftest import app_url, client_for

pytestmark = [requires_toolchain]


def _ready(tenant, keystore):  # type: ignore[no-untyped-def]
    client = client_for(tenant.developer)
    assert upload_credential(client, tenant, keystore).status_code == 201
    assert save_profile(client, tenant).status_code == 201
    return client, BuildProfile.objects.get(app=tenant.app)


@pytest.mark.django_db
def test_fair_share_serves_every_tenant_before_anyone_twice(pkcs12_keystore):  # type: ignore[no-untyped-def]
    tenants = [make_tenant(f"fair{i}") for i in range(3)]
    profiles = [_ready(t, pkcs12_keystore)[1] for t in tenants]
    for _ in range(4):  # the first tenant queues four builds before the others queue one each
        queue.build_request(app=tenants[0].app, profile=profiles[0])
    for tenant, profile in zip(tenants[1:], profiles[1:], strict=True):
        queue.build_request(app=tenant.app, profile=profile)
    order = []
    while (build := queue.build_claim(platform="android", agent="test")) is not None:
        order.append(build.app_id)
        Build.objects.filter(pk=build.pk).update(state=Build.State.SUCCEEDED, finished_at=timezone.now())
    first, second, third = (t.app.pk for t in tenants)
    assert order[:3] == [first, second, third]
    assert order[3:] == [first, first, first]


@pytest.mark.django_db
def test_an_app_runs_no_more_builds_at_once_than_its_plan_allows(tenant_a, pkcs12_keystore, settings):  # type: ignore[no-untyped-def]
    from tenants.models import Plan

    _, profile = _ready(tenant_a, pkcs12_keystore)
    for _ in range(3):
        queue.build_request(app=tenant_a.app, profile=profile)
    assert queue.build_claim(platform="android", agent="a") is not None
    assert queue.build_claim(platform="android", agent="b") is None  # the default limit is 1
    plan = Plan.objects.create(name="builds-2", requests_per_second=0, max_concurrent_builds=2)
    tenant_a.organization.plan = plan
    tenant_a.organization.save()
    assert queue.build_claim(platform="android", agent="b") is not None
    assert queue.build_claim(platform="android", agent="c") is None


@pytest.mark.django_db
def test_cancel_works_in_every_state(tenant_a, pkcs12_keystore):  # type: ignore[no-untyped-def]
    client, profile = _ready(tenant_a, pkcs12_keystore)
    queued = queue.build_request(app=tenant_a.app, profile=profile)
    answer = client.post(app_url(tenant_a, f"/builds/{queued.number}/cancel"))
    assert answer.json()["state"] == "cancelled"
    assert queue.build_claim(platform="android", agent="a") is None  # a cancelled build is never picked up
    again = client.post(app_url(tenant_a, f"/builds/{queued.number}/cancel"))  # final: a no-op, not an error
    assert again.status_code == 200
    assert again.json()["state"] == "cancelled"


@pytest.mark.django_db(transaction=True)
def test_a_running_build_is_cancelled_and_its_tools_killed(pkcs12_keystore, queued_in_broker, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    # The build waits in a hanging smali until cancelled: a fast machine cannot finish it before the cancel lands.
    tool = hanging_tool(tmp_path)
    monkeypatch.setenv("PATH", f"{tool.bin_dir}:{os.environ['PATH']}")
    tenant = make_tenant("canceller")
    client, profile = _ready(tenant, pkcs12_keystore)
    build = queue.build_request(app=tenant.app, profile=profile)
    claimed = queue.build_claim(platform="android", agent="test")
    assert claimed is not None
    result: dict[str, Build] = {}

    def run() -> None:
        try:
            result["build"] = build_execute(claimed, agent="test")
        finally:
            connection.close()  # this thread's own connection, or the test database cannot be dropped

    runner = threading.Thread(target=run)
    runner.start()
    try:
        deadline = time.monotonic() + 60  # only a bound on a broken test, not on the behaviour
        while not tool.started() and runner.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert tool.started(), "the build never reached its dex step"
        assert client.post(app_url(tenant, f"/builds/{build.number}/cancel")).status_code == 200
        runner.join(timeout=60)
        ended = result["build"]
        assert ended.state == "cancelled"
        assert ended.artifact_key == ""
        assert ended.finished_at is not None
        assert not tool.child_alive()  # the tool's whole process group was killed
        assert not tool.finished.exists()
    finally:
        tool.stop()


@pytest.mark.django_db(transaction=True)
def test_a_build_over_its_time_limit_is_killed(pkcs12_keystore, queued_in_broker, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    # A tool that hangs, found first on PATH: the whole build can run in under a second on a warm machine, so a real
    # toolchain cannot be relied on to overrun a one-second limit (it did not in one CI run).
    tool = hanging_tool(tmp_path)
    monkeypatch.setenv("PATH", f"{tool.bin_dir}:{os.environ['PATH']}")
    tenant = make_tenant("slowpoke")
    _, profile = _ready(tenant, pkcs12_keystore)
    # Three seconds: ample for the steps before smali (about 0.2 s), which then hangs far past the limit.
    queue.build_request(app=tenant.app, profile=profile, timeout_seconds=3)
    claimed = queue.build_claim(platform="android", agent="test")
    assert claimed is not None
    try:
        ended = build_execute(claimed, agent="test")
        assert ended.state == "timed_out"
        assert ended.error_code == "timed_out"
        assert ended.artifact_key == ""
        # Killed at the limit, not left to finish: its child is gone and it never reached its end.
        assert tool.started()
        assert not tool.child_alive()
        assert not tool.finished.exists()
    finally:
        tool.stop()


@pytest.mark.django_db
def test_a_build_whose_worker_vanished_is_retried_once_from_the_start(tenant_a, pkcs12_keystore, queued_in_broker):  # type: ignore[no-untyped-def]
    _, profile = _ready(tenant_a, pkcs12_keystore)
    build = queue.build_request(app=tenant_a.app, profile=profile)
    for attempt in (1, 2):
        claimed = queue.build_claim(platform="android", agent=f"lost-{attempt}")
        assert claimed is not None
        assert claimed.attempt == attempt
        Build.objects.filter(pk=build.pk).update(lease_expires_at=timezone.now())  # its worker stopped renewing
        assert build_reap() == 1
    build.refresh_from_db()
    assert build.state == "failed"
    assert build.error_code == "worker_lost"
