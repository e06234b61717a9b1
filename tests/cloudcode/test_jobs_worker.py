"""A queued job is run by a real Celery worker process (not eager): the path ``make run`` uses."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from celery.exceptions import AlwaysEagerIgnored
from django.conf import settings

from hangar.celery_app import app as celery_app
from tests.cloudcode.conftest import deploy
from tests.conftest import REPO_DIR, Tenant, _database_url

pytestmark = pytest.mark.django_db(transaction=True)
WAIT_SECONDS = 60


@pytest.fixture
def celery_worker_process() -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "hangar.settings_test",
        "PYTHONPATH": os.pathsep.join([str(REPO_DIR / "platform"), str(REPO_DIR)]),
        "DATABASE_URL": _database_url(settings.DATABASES["default"]),
    }
    log_path = settings.VAR_DIR / "celery-worker-test.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "hangar.celery_app", "worker", "--pool", "solo",
             "--loglevel", "INFO", "--hostname", f"jobs-test-{os.getpid()}@%h"],
            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO_DIR / "platform",
        )  # fmt: skip
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def test_a_real_worker_runs_a_queued_job(tenant_a: Tenant, celery_worker_process: subprocess.Popen[bytes]):
    from django.db import connection

    deploy(
        tenant_a,
        {"main.py": "from hangar_cloud import job\n\n@job('w')\ndef w(request):\n    return 'from a worker'\n"},
    )
    with connection.cursor() as cursor:  # a pending run, as POST /jobs records it
        cursor.execute(
            "INSERT INTO datastore_object (app_id, class_name, object_id, data, _rperm, _wperm) "
            "VALUES (%s, '_JobStatus', 'wrk1', %s, '{}', '{}')",
            [tenant_a.app.pk, '{"jobName": "w", "status": "pending", "source": "api", "params": {}}'],
        )
    # send_task always goes through the broker, whatever the eager setting of this process
    with pytest.warns(AlwaysEagerIgnored):
        celery_app.send_task("cloudcode.job_run", kwargs={"app_pk": tenant_a.app.pk, "job_status_id": "wrk1"})
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT data->>'status', data->>'message' FROM datastore_object "
                "WHERE app_id = %s AND class_name = '_JobStatus' AND object_id = 'wrk1'",
                [tenant_a.app.pk],
            )
            status, message = cursor.fetchone()
        if status in ("succeeded", "failed") or time.monotonic() > deadline:
            break
        assert celery_worker_process.poll() is None, (settings.VAR_DIR / "celery-worker-test.log").read_text()[-2000:]
        time.sleep(0.5)
    assert (status, message) == ("succeeded", "from a worker")
