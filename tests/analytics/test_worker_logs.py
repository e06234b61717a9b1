"""A real Celery worker (not eager): JSON log lines carry the request id; its own health endpoints answer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery.exceptions import AlwaysEagerIgnored
from django.conf import settings

from hangar.celery_app import app as celery_app
from hangar.observability.logs import request_id_var
from tests.conftest import REPO_DIR, _database_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def json_logging_worker() -> Iterator[Path]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "hangar.settings_test",
        "PYTHONPATH": os.pathsep.join([str(REPO_DIR / "platform"), str(REPO_DIR)]),
        "DATABASE_URL": _database_url(settings.DATABASES["default"]),
        "HANGAR_LOG_FORMAT": "json",
    }
    log_path = settings.VAR_DIR / "celery-worker-json-test.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "hangar.celery_app", "worker", "--pool", "solo",
             "--loglevel", "INFO", "--hostname", f"json-logs-{os.getpid()}@%h"],
            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO_DIR / "platform",
        )  # fmt: skip
    try:
        yield log_path
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def test_the_workers_log_line_carries_the_request_id(json_logging_worker: Path):
    token = request_id_var.set("req-web-7f3a9c21")
    try:
        with pytest.warns(AlwaysEagerIgnored):  # send_task always goes through the broker
            celery_app.send_task("analytics.rollup")
    finally:
        request_id_var.reset(token)
    deadline = time.monotonic() + 60
    found = None
    while found is None and time.monotonic() < deadline:
        for raw in json_logging_worker.read_text(errors="replace").splitlines():
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            if "analytics rollup" in line.get("message", ""):
                found = line
        time.sleep(0.5)
    assert found is not None, json_logging_worker.read_text()[-3000:]
    assert found["request_id"] == "req-web-7f3a9c21"
    assert found["task_id"]
    assert found["logger"] == "hangar.analytics.tasks"


def test_a_worker_serves_liveness_and_readiness_on_its_own_port(tmp_path: Path):
    import httpx

    from tests.conftest import _free_port

    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "hangar.settings_test",
        "PYTHONPATH": os.pathsep.join([str(REPO_DIR / "platform"), str(REPO_DIR)]),
        "DATABASE_URL": _database_url(settings.DATABASES["default"]),
        "HANGAR_WORKER_HEALTH_PORT": str(port),
    }
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "hangar.celery_app", "worker", "--pool", "solo",
             "--loglevel", "INFO", "--hostname", f"health-{os.getpid()}@%h", "--queues", f"none-{os.getpid()}"],
            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO_DIR / "platform",
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                alive = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.HTTPError:
                assert process.poll() is None, log_path.read_text()[-3000:]
                assert time.monotonic() < deadline, log_path.read_text()[-3000:]
                time.sleep(0.5)
        assert (alive.status_code, alive.json()) == (200, {"status": "alive"})
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10)
        assert (ready.status_code, ready.json()["checks"]) == (200, {"postgres": "ok", "redis": "ok"})
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
