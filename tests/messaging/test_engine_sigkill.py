"""A real Celery worker SIGKILLed mid-campaign and started again: every recipient exactly once at the endpoint.

Processes of the test's own: a Redis broker, the local FCM HTTP v1 server
(tests/messaging/endpoints/fcm.py in its process mode: OAuth token exchange for the service
account, ``messages:send``, each send held 30 ms like a distant provider) and a Celery worker
(two prefork processes) sending through the real FCM adapter: the app has FCM credentials (the
endpoint's service account, its ``token_uri`` and base URL on loopback) and the worker picks
its provider with the default ``hangar.messaging.providers.push_provider_for``. The worker and
its pool are killed with SIGKILL once a few hundred notifications have arrived, a new worker is
started, and the broker hands it the dead worker's tasks after the visibility timeout. Counted
at the endpoint: every installation received the notification, always under one collapse key
(the campaign's push id, ``android.collapse_key``), and the only tokens that received it twice
are deliveries the dead worker had claimed and not yet marked: the ambiguity docs/messaging.md
("Delivery") describes, which the provider collapses.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from celery import Celery
from django.conf import settings
from django.db import connection

from hangar.messaging.provider_credentials import provider_credential_set
from tests.conftest import REPO_DIR, Tenant, _database_url, _free_port
from tests.faults.conftest import RedisProcess, _wait_for_port

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
INSTALLATIONS = 2000
CLAIM_SIZE = 25
WORKER_PROCESSES = 2


@dataclass(frozen=True)
class FcmProcess:
    url: str
    service_account: dict[str, Any]


@pytest.fixture
def endpoint(tmp_path: Path) -> Iterator[FcmProcess]:
    port = _free_port()
    account_file = tmp_path / "fcm-service-account.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.messaging.endpoints.fcm", "--port", str(port), "--delay", "0.03",
         "--service-account-out", str(account_file)],
        cwd=REPO_DIR, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait_for_port(port, process, "fcm endpoint")
        yield FcmProcess(f"http://127.0.0.1:{port}", json.loads(account_file.read_text()))
    finally:
        process.kill()
        process.wait(timeout=10)


class Worker:
    def __init__(self, env: dict[str, str], name: str) -> None:
        log = settings.VAR_DIR / f"push-sigkill-{name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "hangar.celery_app", "worker", "--pool", "prefork",
                 "--concurrency", str(WORKER_PROCESSES), "--loglevel", "WARNING", "--hostname", f"{name}@%h"],
                env=env, cwd=REPO_DIR / "platform", stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)  # the worker and its pool: a session of their own
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


def _stats(endpoint: str) -> dict[str, Any]:
    return httpx.get(f"{endpoint}/_stats", timeout=5).json()


def _status(app_pk: int) -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT data FROM datastore_object "
            "WHERE app_id = %s AND class_name = '_PushStatus' AND object_id = 'kill1'",
            [app_pk],
        )
        data = cursor.fetchone()[0]
    return json.loads(data) if isinstance(data, str) else data


def _states(app_pk: int) -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT state, count(*) FROM messaging_pushdelivery WHERE app_id = %s GROUP BY state", [app_pk])
        return dict(cursor.fetchall())


def _wait(condition, what: str, workers: list[Worker], timeout: float = 120) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            logs = "\n".join(w.log.read_text()[-3000:] for w in workers)
            raise AssertionError(f"{what}\n{logs}")
        time.sleep(0.1)


def test_a_worker_killed_mid_campaign_loses_and_doubles_nobody(
    tenant_a: Tenant, broker: RedisProcess, endpoint: FcmProcess
):
    app = tenant_a.app.pk
    provider_credential_set(
        app=tenant_a.app, kind="fcm", raw={"service_account": endpoint.service_account, "base_url": endpoint.url},
        actor=None,
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO datastore_object (app_id, class_name, object_id, data, _rperm, _wperm) "
            "SELECT %s, '_Installation', 'i' || lpad(n::text, 6, '0'), "
            "jsonb_build_object('deviceType', 'android', 'deviceToken', 'device-token-' || n, "
            "'installationId', 'iid-' || n), "
            "'{}', '{}' FROM generate_series(1, %s) AS n",
            [app, INSTALLATIONS],
        )
        cursor.execute(
            "INSERT INTO datastore_object (app_id, class_name, object_id, data, _rperm, _wperm) "
            "VALUES (%s, '_PushStatus', 'kill1', %s, '{}', '{}')",
            [app, json.dumps({"pushTime": "2020-01-01T00:00:00.000Z", "query": "{}", "source": "rest",
                              "payload": json.dumps({"alert": "once"}), "status": "pending", "numSent": 0})],
        )  # fmt: skip
    env = {
        **os.environ, "DJANGO_SETTINGS_MODULE": "hangar.settings",
        "PYTHONPATH": os.pathsep.join([str(REPO_DIR / "platform"), str(REPO_DIR)]),
        "DATABASE_URL": _database_url(settings.DATABASES["default"]), "REDIS_URL": broker.url,
        "HANGAR_ENCRYPTION_KEYS": ",".join(settings.HANGAR_ENCRYPTION_KEYS), "SECRET_KEY": settings.SECRET_KEY,
        "HANGAR_TASK_VISIBILITY_TIMEOUT_SECONDS": "3",
        "HANGAR_EGRESS_ALLOW_PRIVATE": "127.0.0.1/32",  # the local FCM server is on loopback
        "HANGAR_PUSH_CLAIM_SIZE": str(CLAIM_SIZE),
        "HANGAR_PUSH_BATCH_SIZE": "200",
    }  # fmt: skip
    for name in ("HANGAR_ENV", "HANGAR_PUSH_PROVIDER_FOR", "HANGAR_FCM_BASE_URL"):
        env.pop(name, None)  # the default provider choice, from the app's stored credentials
    first = Worker(env, "push-first")
    workers = [first]
    try:
        # Not the current app: later .delay() calls in this process must not go to this test's broker.
        sender = Celery(broker=broker.url, set_as_current=False)
        sender.send_task("messaging.campaign_run", kwargs={"app_pk": app, "push_status_id": "kill1"})
        _wait(lambda: _stats(endpoint.url)["received"] >= 300, "the campaign never got going", workers)
        first.kill()
        at_kill = _states(app)
        in_flight = at_kill.get("sending", 0)
        assert at_kill.get("sent", 0) < INSTALLATIONS, at_kill  # killed mid-campaign

        second = Worker(env, "push-second")
        workers.append(second)
        _wait(lambda: _status(app).get("status") in ("succeeded", "failed"), "the campaign did not finish", workers)
    finally:
        for worker in workers:
            worker.stop()

    stats = _stats(endpoint.url)
    status = _status(app)
    assert (status["status"], status["numSent"], status.get("numFailed", 0), status["count"]) == (
        "succeeded", INSTALLATIONS, 0, INSTALLATIONS,
    )  # fmt: skip
    assert _states(app) == {"sent": INSTALLATIONS}
    assert stats["tokens"] == INSTALLATIONS, (at_kill, stats)  # nobody skipped
    assert stats["tokens_without_collapse_key"] == 0  # every message carried the campaign's collapse key
    assert stats["tokens_under_two_collapse_keys"] == 0  # nobody got two different messages
    assert stats["token_requests"] >= 1  # the adapter's OAuth exchange happened (once per worker process)
    # The only repeats: deliveries claimed by the dead worker, outcome unknown, resent under the same key.
    assert stats["duplicates"] <= in_flight <= WORKER_PROCESSES * CLAIM_SIZE
    assert stats["received"] == INSTALLATIONS + stats["duplicates"]
