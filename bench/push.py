"""The push-campaign workload: one campaign to N installations (100,000 by default), end to end.

Hangar alone (Parse Server's push adapter cannot be pointed at a local endpoint: bench/README.md,
"Push"). The harness starts Hangar (uvicorn), the adapters' local FCM HTTP v1 server
(tests/messaging/endpoints/fcm.py as a process: Google's OAuth token exchange for a service
account, ``messages:send``) and Celery workers on this machine; stores the server's service
account as the app's FCM credentials (as the management API stores them), writes N android
installations straight into the app's partition of the datastore (one INSERT ... SELECT:
seeding is not what is measured), and then times, from the ``POST /parse/push`` to all of
them, until the endpoint has recorded the last notification: notifications per second and
time to complete, and when ``_PushStatus`` said ``succeeded``. The workers send through the
real FCM adapter (``hangar.messaging.providers.push_provider_for``, httpx through
``hangar.egress``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
import psycopg

from bench.cpu import backing_services_cpu_seconds
from bench.paths import PYTHON, REPO_DIR, WORK_DIR, log_path
from bench.processes import ServerProcess
from bench.servers import HOST, Target, _free_port, hangar_environment

TARGET_PER_SECOND = 5000.0  # issue 14's target
DEADLINE_SECONDS = 900


class PushBenchError(RuntimeError):
    """The campaign did not complete, or the endpoint saw something other than one notification each."""


@dataclass(frozen=True)
class PushResult:
    installations: int
    workers: int
    path: str  # "POST /parse/push"
    seconds_to_last_delivery: float
    seconds_to_succeeded: float | None
    notifications_per_second: float
    messages_at_endpoint: int
    tokens_at_endpoint: int
    duplicates: int
    worker_cpu_ms_per_notification: float  # the Celery workers' user + system CPU (the engine and the FCM adapter)
    endpoint_cpu_ms_per_notification: float  # the local FCM endpoint's (the provider's side, not Hangar's)
    machine_busy_share: float  # of all cores, during the campaign (everything on the machine)
    backing_cpu_ms_per_notification: float  # PostgreSQL and Redis, machine-wide (other databases' work included)

    @property
    def target_met(self) -> bool:
        return self.notifications_per_second >= TARGET_PER_SECOND


def _wait_for_port(port: int, process: ServerProcess, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not process.alive():
            raise PushBenchError(f"{process.name} exited:\n{process.log_tail()}")
        try:
            httpx.get(f"http://{HOST}:{port}/_stats", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise PushBenchError(f"{process.name} did not start")


def start_endpoint() -> tuple[ServerProcess, str, Path]:
    """The local FCM server; returns it, its URL and the file holding a service account it knows."""
    port = _free_port()
    account = WORK_DIR / f"fcm-service-account-{port}.json"
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    process = ServerProcess(
        "fcm-endpoint",
        [PYTHON, "-m", "tests.messaging.endpoints.fcm", "--port", str(port), "--service-account-out", str(account)],
        env={"PYTHONPATH": os.pathsep.join([str(REPO_DIR / "platform"), str(REPO_DIR)])}, cwd=REPO_DIR,
        log_path=log_path("fcm-endpoint"),
    )  # fmt: skip
    _wait_for_port(port, process)
    return process, f"http://{HOST}:{port}", account


def fcm_credentials_store(env: dict[str, str], application_id: str, account: Path, endpoint: str) -> None:
    """The app's FCM credentials: the local server's service account, its base URL (a Django process)."""
    completed = subprocess.run(
        [PYTHON, "-m", "bench.push", "--store-fcm-credentials", application_id, str(account), endpoint],
        env=env, cwd=REPO_DIR, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    if completed.returncode != 0:
        raise PushBenchError(f"storing the FCM credentials failed:\n{completed.stdout}{completed.stderr}"[-4000:])


def worker_environment(target: Target, redis_url: str) -> dict[str, str]:
    env = hangar_environment(database_url=target.details["database_url"], redis_url=redis_url, port=0)
    env.pop("HANGAR_PUSH_PROVIDER_FOR", None)  # the default: the app's stored credentials decide
    return {
        **env,
        "HANGAR_EGRESS_ALLOW_PRIVATE": "127.0.0.1/32",  # the local FCM server is on loopback
        "HANGAR_PUSH_BATCH_SIZE": "1000",
        "HANGAR_PUSH_CLAIM_SIZE": "500",
        "HANGAR_PUSH_RATE_LIMITS": "default=0",  # the endpoint has no quota; FCM's default is 600,000 a minute
    }


def start_workers(env: dict[str, str], workers: int) -> ServerProcess:
    command = [PYTHON, "-m", "celery", "-A", "hangar.celery_app", "worker", "--pool", "prefork",
               "--concurrency", str(workers), "--loglevel", "WARNING", "--hostname", "bench-push@%h"]  # fmt: skip
    return ServerProcess("celery", command, env=env, cwd=REPO_DIR / "platform", log_path=log_path("celery-push"))


def _cpu_seconds(process: ServerProcess) -> float:
    total = 0.0
    for member in process._members():
        try:
            times = member.cpu_times()
            total += (
                times.user + times.system + getattr(times, "children_user", 0) + getattr(times, "children_system", 0)
            )
        except psutil.Error:
            pass
    return total


def _app_pk(database_url: str, application_id: str) -> int:
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute("SELECT id FROM tenants_app WHERE application_id = %s", [application_id]).fetchone()
    if row is None:
        raise PushBenchError("the bench app is missing")
    return int(row[0])


def installations_seed(database_url: str, app_pk: int, count: int) -> float:
    """N android installations with distinct tokens, written in one statement; returns the seconds it took."""
    started = time.monotonic()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            f"INSERT INTO datastore_object_app{int(app_pk)} (app_id, class_name, object_id, data, _rperm, _wperm) "
            "SELECT %s, '_Installation', 'b' || lpad(n::text, 9, '0'), jsonb_build_object('deviceType', 'android', "
            "'deviceToken', 'bench-token-' || n, 'installationId', 'bench-' || n, 'pushType', 'gcm', "
            "'channels', jsonb_build_array('bench')), '{}', '{}' FROM generate_series(1, %s) AS n",
            [app_pk, count],
        )
        conn.execute("ANALYZE datastore_object")
    return time.monotonic() - started


def campaign_start(target: Target) -> tuple[str, str]:
    """``POST /parse/push`` to every installation; returns (path taken, campaign id)."""
    headers = {"X-Parse-Application-Id": target.application_id, "X-Parse-Master-Key": target.keys["master"]}
    body = {"where": {}, "data": {"alert": "bench", "badge": 1}}
    answer = httpx.post(f"{target.base_url}/push", json=body, headers=headers, timeout=60)
    if answer.status_code != 200:
        raise PushBenchError(f"POST /parse/push answered {answer.status_code}: {answer.text[:500]}")
    return "POST /parse/push", answer.headers.get("X-Parse-Push-Status-Id", "")


def _status(database_url: str, app_pk: int, campaign_id: str) -> str:
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT data->>'status' FROM datastore_object WHERE app_id = %s AND class_name = '_PushStatus' "
            "AND object_id = %s",
            [app_pk, campaign_id],
        ).fetchone()
    return str(row[0]) if row else ""


def run_push_campaign(
    target: Target, redis_url: str, *, installations: int, workers: int
) -> PushResult:  # fmt: skip
    database_url = target.details["database_url"]
    app_pk = _app_pk(database_url, target.application_id)
    endpoint_process, endpoint, account = start_endpoint()
    env = worker_environment(target, redis_url)
    try:
        fcm_credentials_store(env, target.application_id, account, endpoint)
    except BaseException:
        endpoint_process.stop()
        raise
    celery = start_workers(env, workers)
    try:
        seconds = installations_seed(database_url, app_pk, installations)
        print(f"  {installations} installations written in {seconds:.1f} s; {workers} Celery worker processes",
              flush=True)  # fmt: skip
        time.sleep(3)  # the workers are up and waiting
        cpu_before = (_cpu_seconds(celery), _cpu_seconds(endpoint_process), backing_services_cpu_seconds())
        psutil.cpu_percent()
        started = time.time()
        path, campaign_id = campaign_start(target)
        succeeded_at = None
        deadline = time.monotonic() + DEADLINE_SECONDS
        while True:
            stats = httpx.get(f"{endpoint}/_stats", timeout=5).json()
            if succeeded_at is None and _status(database_url, app_pk, campaign_id) == "succeeded":
                succeeded_at = time.time()
            if stats["tokens"] >= installations and succeeded_at is not None:
                break
            if time.monotonic() > deadline or not celery.alive():
                raise PushBenchError(f"the campaign did not complete: {stats}\n{celery.log_tail()}")
            time.sleep(0.2)
        busy = psutil.cpu_percent() / 100
        cpu_after = (_cpu_seconds(celery), _cpu_seconds(endpoint_process), backing_services_cpu_seconds())
    finally:
        celery.stop()
        endpoint_process.stop()
    elapsed = float(stats["last_at"]) - started
    return PushResult(
        installations=installations, workers=workers, path=path, seconds_to_last_delivery=elapsed,
        seconds_to_succeeded=succeeded_at - started if succeeded_at else None,
        notifications_per_second=installations / elapsed, messages_at_endpoint=stats["received"],
        tokens_at_endpoint=stats["tokens"], duplicates=stats["duplicates"],
        worker_cpu_ms_per_notification=(cpu_after[0] - cpu_before[0]) * 1000 / installations,
        endpoint_cpu_ms_per_notification=(cpu_after[1] - cpu_before[1]) * 1000 / installations,
        machine_busy_share=busy,
        backing_cpu_ms_per_notification=(cpu_after[2] - cpu_before[2]) * 1000 / installations,
    )  # fmt: skip


def render_push(result: PushResult) -> str:
    met = "met" if result.target_met else "NOT met"
    return (
        f"push-campaign: {result.installations} installations, {result.workers} Celery worker processes, "
        f"{result.path}\n"
        f"  last delivery at the FCM endpoint after {result.seconds_to_last_delivery:.1f} s: "
        f"{result.notifications_per_second:.0f} notifications/s (target >= {TARGET_PER_SECOND:.0f}: {met}); "
        f"_PushStatus succeeded after {result.seconds_to_succeeded or float('nan'):.1f} s\n"
        f"  endpoint: {result.messages_at_endpoint} messages to {result.tokens_at_endpoint} tokens, "
        f"{result.duplicates} tokens more than once\n"
        f"  CPU per notification: Celery workers {result.worker_cpu_ms_per_notification:.3f} ms, "
        f"FCM endpoint {result.endpoint_cpu_ms_per_notification:.3f} ms, PostgreSQL + Redis "
        f"{result.backing_cpu_ms_per_notification:.3f} ms (machine-wide); machine busy "
        f"{result.machine_busy_share:.0%} of {psutil.cpu_count()} cores during the campaign"
    )


def write_push_json(result: PushResult) -> Path:
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    path = WORK_DIR / f"push-{time.strftime('%Y%m%d-%H%M%S')}.json"
    payload: dict[str, Any] = {
        **asdict(result),
        "target_per_second": TARGET_PER_SECOND,
        "target_met": result.target_met,
    }
    path.write_text(json.dumps(payload, indent=2))
    return path


def _store_fcm_credentials(application_id: str, account: Path, endpoint: str) -> None:
    import django

    django.setup()
    from hangar.messaging.provider_credentials import provider_credential_set
    from tenants.models import App

    app = App.objects.get(application_id=application_id)
    raw = {"service_account": json.loads(account.read_text()), "base_url": endpoint}
    provider_credential_set(app=app, kind="fcm", raw=raw, actor=None)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="The push benchmark's Django-side step")
    parser.add_argument("--store-fcm-credentials", nargs=3, metavar=("APPLICATION_ID", "ACCOUNT_FILE", "BASE_URL"))
    arguments = parser.parse_args()
    if arguments.store_fcm_credentials:
        application_id, account_file, base_url = arguments.store_fcm_credentials
        _store_fcm_credentials(application_id, Path(account_file), base_url)
