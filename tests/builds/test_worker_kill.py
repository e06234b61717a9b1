"""A real Celery worker (the built-in agent) SIGKILLed mid-build: the build is run again from the start, once.

The worker consumes the builds.android queue of the suite's Redis and serves the test database;
the test itself plays the second worker that picks the retried build up.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.utils import timezone

from hangar.builds import queue
from hangar.builds.models import Build, BuildProfile, BuildStep
from hangar.builds.runner import build_reap
from hangar.builds.tasks import run_next
from tests.builds.conftest import HangingTool, hanging_tool, requires_toolchain, save_profile, upload_credential
from tests.conftest import REPO_DIR, _database_url, make_tenant
from tests.tenants.conftest import client_for

pytestmark = [requires_toolchain, pytest.mark.slow, pytest.mark.django_db(transaction=True)]
LEASE_SECONDS = 2
BROKER_KEYS = ("builds.android", "unacked", "unacked_index")


def _clear_broker() -> None:
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        client.delete(*BROKER_KEYS)
    finally:
        client.close()


@pytest.fixture
def hanging_smali(tmp_path: Path) -> Iterator[HangingTool]:
    tool = hanging_tool(tmp_path)
    try:
        yield tool
    finally:
        tool.stop()  # a SIGKILLed worker leaves its tool's process group running


@pytest.fixture
def build_worker(tmp_path: Path, settings, hanging_smali: HangingTool) -> Iterator[subprocess.Popen[bytes]]:  # type: ignore[no-untyped-def]
    from hangar.celery_app import app as celery_app

    settings.HANGAR_BUILDS_LEASE_SECONDS = LEASE_SECONDS
    celery_app.conf.task_always_eager = False
    _clear_broker()
    env = {
        **os.environ, "DJANGO_SETTINGS_MODULE": "hangar.settings_test", "HANGAR_ENV": "test",
        "DATABASE_URL": _database_url(settings.DATABASES["default"]), "REDIS_URL": settings.REDIS_URL,
        "HANGAR_ENCRYPTION_KEYS": ",".join(settings.HANGAR_ENCRYPTION_KEYS), "SECRET_KEY": settings.SECRET_KEY,
        "HANGAR_BUILDS_VAULT_KEYS": ",".join(settings.HANGAR_BUILDS_VAULT_KEYS),
        "HANGAR_BUILDS_LEASE_SECONDS": str(LEASE_SECONDS), "CELERY_TASK_ALWAYS_EAGER": "false",
        "PYTHONPATH": f"{REPO_DIR / 'platform'}:{REPO_DIR}",
        # This worker's smali hangs: it is killed mid-build whatever the machine's speed. The retry runs
        # in this process, with the real toolchain.
        "PATH": f"{hanging_smali.bin_dir}:{os.environ['PATH']}",
    }  # fmt: skip
    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "--workdir", str(REPO_DIR / "platform"), "-A", "hangar.celery_app",
         "worker", "--queues", "builds.android", "--pool", "solo", "--hostname", f"buildkill-{os.getpid()}@%h",
         "--without-mingle", "--without-gossip", "--loglevel", "INFO"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        yield worker
    finally:
        if worker.poll() is None:
            worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        log.close()
        _clear_broker()
        celery_app.conf.task_always_eager = True


def test_a_killed_worker_is_retried_once_from_the_start(build_worker, hanging_smali, pkcs12_keystore, tmp_path):  # type: ignore[no-untyped-def]
    tenant = make_tenant("crashy")
    client = client_for(tenant.developer)
    assert upload_credential(client, tenant, pkcs12_keystore).status_code == 201
    assert save_profile(client, tenant).status_code == 201
    build = queue.build_request(app=tenant.app, profile=BuildProfile.objects.get(app=tenant.app))

    deadline = time.monotonic() + 120  # only a bound on a broken test (a worker that never starts)
    while not hanging_smali.started():  # the worker is inside the build's dex step, and stays there
        assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()[-3000:]
        assert build_worker.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
        time.sleep(0.02)
    build_worker.send_signal(signal.SIGKILL)
    build_worker.wait(timeout=10)
    build.refresh_from_db()
    assert build.state == "running"
    assert build.attempt == 1

    # Reaped once the lease the dead worker can no longer renew runs out (LEASE_SECONDS), not before it was due.
    build.refresh_from_db()
    assert build.lease_expires_at is not None
    due = build.lease_expires_at
    while build_reap() == 0:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert timezone.now() >= due
    build.refresh_from_db()
    assert build.state == "queued"

    assert run_next.run(platform="android") == "succeeded"  # the next worker starts it over
    build.refresh_from_db()
    assert build.state == Build.State.SUCCEEDED
    assert build.attempt == 2
    assert BuildStep.objects.filter(build=build, attempt=2, name="render").count() == 1
    assert BuildStep.objects.filter(build=build, attempt=1, name="render").count() == 1
