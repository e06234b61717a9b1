"""A Celery worker SIGKILLed while one app deletion runs and another waits: both complete once the launcher
has restarted the worker, long before the 5-minute sweep.

`make run`'s launcher serves against a Redis of the test's own (the broker), with one worker process so
that the second deletion stays queued. The running purge is held deterministically by a row lock the
test takes on its app, the first thing a purge locks; nothing in Hangar is faked.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import psutil
import psycopg
import pytest
import redis
from django.conf import settings
from django.db import connection

from hangar.datastore.partitions import partitions_list
from tenants.models import App, AuditEvent
from tenants.services import access_token_create
from tests.conftest import Tenant, _database_url, make_tenant
from tests.faults.conftest import RedisProcess, launched_with_worker
from tests.test_launcher import Launch, external_services_env  # noqa: F401
from tests.test_supervisor import _celery_worker

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# Short, so that the test sees a lapsed lease come back within seconds (the default is 60 s).
VISIBILITY_TIMEOUT_SECONDS = 3
QUEUE = "celery"


@pytest.fixture
def launch(tmp_path, external_services_env, broker: RedisProcess) -> Iterator[Launch]:  # noqa: F811
    env = {
        **external_services_env, "REDIS_URL": broker.url, "WEB_CONCURRENCY": "1", "CELERY_CONCURRENCY": "1",
        "HANGAR_TASK_VISIBILITY_TIMEOUT_SECONDS": str(VISIBILITY_TIMEOUT_SECONDS),
        "HANGAR_PUSH_TICK_SECONDS": "0",  # the queue holds only the deletions this test counts
    }  # fmt: skip
    with launched_with_worker(env, tmp_path / "var") as started:
        yield started


def _fill(launch: Launch, tenant: Tenant) -> None:
    """Objects, a user with a session and a stored file: everything a purge must remove."""
    headers = tenant.parse_headers("master")
    base = f"{launch.url}/parse"
    batch = {"requests": [{"method": "POST", "path": "/parse/classes/Thing", "body": {"n": n}} for n in range(50)]}
    created = httpx.post(f"{base}/batch", json=batch, headers=headers, timeout=30)
    assert created.status_code == 200, launch.output()[-3000:]
    signup = httpx.post(f"{base}/users", json={"username": "u", "password": "p-long-enough"}, headers=headers)
    assert signup.status_code == 201, signup.text
    stored = httpx.post(f"{base}/files/notes.txt", content=b"notes", headers={**headers, "Content-Type": "text/plain"})
    assert stored.status_code == 201, stored.text
    assert _files_dir(launch, tenant).exists()


def _files_dir(launch: Launch, tenant: Tenant):
    return launch.var_dir / "files" / f"app{tenant.app.pk}"


def _rows(tenant: Tenant) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM datastore_object WHERE app_id = %s", [tenant.app.pk])
        return int(cursor.fetchone()[0])


def _delete(launch: Launch, tenant: Tenant) -> None:
    _, token = access_token_create(developer=tenant.developer, name="faults")
    answer = httpx.request(
        "DELETE", f"{launch.url}/api/v1/organizations/{tenant.organization.pk}/apps/{tenant.app.pk}",
        json={"confirm_name": tenant.app.name}, headers={"Authorization": f"Bearer {token}"}, timeout=10,
    )  # fmt: skip
    assert answer.status_code == 202, answer.text


def _purge_waiting_on_lock(database_url: str) -> bool:
    with psycopg.connect(database_url, autocommit=True) as conn:
        waiting = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query ILIKE %s",
            ["%tenants_app%FOR UPDATE%"],
        ).fetchone()
    return bool(waiting and waiting[0])


def _wait_for(condition, what: str, launch: Launch, timeout: float = 30) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what}\n{launch.output()[-4000:]}"
        time.sleep(0.2)


def _purged(launch: Launch, tenant: Tenant) -> bool:
    return (
        not App.objects.filter(pk=tenant.app.pk).exists()
        and partitions_list(app_pk=tenant.app.pk) == []
        and _rows(tenant) == 0
        and not _files_dir(launch, tenant).exists()
    )


def _purge_messages(queue: redis.Redis) -> tuple[int, int]:
    """(queued, unacknowledged) app purges; beat's once-a-minute cloud-code tick may sit beside them."""

    def is_purge(raw: bytes) -> bool:
        message = json.loads(raw)
        if isinstance(message, list):  # an unacknowledged one: [message, exchange, routing key]
            message = message[0]
        return bool(message.get("headers", {}).get("task") == "tenants.purge_app")

    return (
        sum(is_purge(raw) for raw in queue.lrange(QUEUE, 0, -1)),
        sum(is_purge(raw) for raw in queue.hvals("unacked")),
    )


def test_a_killed_worker_loses_neither_the_running_nor_the_queued_deletion(launch: Launch, broker: RedisProcess):
    database_url = _database_url(settings.DATABASES["default"])
    queue = redis.Redis.from_url(broker.url)
    running, queued = make_tenant("running"), make_tenant("queued")
    for tenant in (running, queued):
        _fill(launch, tenant)
        assert _rows(tenant) > 50  # the objects, the user and the session

    # The worker is paused while both deletions are accepted, so that the row lock is in place
    # before it takes the first: deliveries are first in, first out, one at a time.
    worker = _celery_worker(launch)
    worker.suspend()
    holder = psycopg.connect(database_url)
    try:
        _delete(launch, running)
        _delete(launch, queued)
        holder.execute("SELECT 1 FROM tenants_app WHERE id = %s FOR UPDATE", [running.app.pk])
        worker.resume()
        _wait_for(lambda: _purge_waiting_on_lock(database_url), "the first purge never started", launch)
        assert _purge_messages(queue) == (1, 1)

        # A task held longer than the visibility timeout by a living worker keeps its lease.
        time.sleep(VISIBILITY_TIMEOUT_SECONDS + 2)
        assert _purge_messages(queue) == (1, 1)

        pool = worker.children()
        worker.kill()
        for process in pool:
            process.kill()
        psutil.wait_procs([worker, *pool], timeout=10)
    finally:
        holder.rollback()
        holder.close()

    _wait_for(lambda: _purged(launch, queued), "the queued deletion did not complete", launch)
    _wait_for(lambda: _purged(launch, running), "the running deletion did not complete", launch)
    for tenant in (running, queued):
        purges = AuditEvent.objects.filter(target_id=tenant.application_id, action="app.purge")
        assert purges.count() == 1
    assert _purge_messages(queue) == (0, 0)
    output = launch.output()
    assert "worker exited (killed by SIGKILL); restarting in 1 s" in output
    assert "tenants.purge_deleted_apps[" not in output  # the sweep had no part in it
