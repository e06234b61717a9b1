"""A Celery worker SIGKILLed in the middle of a dashboard import: the job is resumed, every row imported once.

`make run`'s launcher serves against a Redis of the test's own (the broker) with one worker
process; the test process records the job and publishes its task to that broker, as the
dashboard does.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import psutil
import pytest
from asgiref.sync import async_to_sync

from hangar.datastore import queries
from tenants import data_import
from tenants.models import DataImportJob
from tests.conftest import make_tenant
from tests.dashboard.test_data import create_class, master
from tests.dashboard.test_data_import_jobs import celery_publishing_to
from tests.faults.conftest import RedisProcess, launched_with_worker
from tests.test_launcher import Launch, external_services_env  # noqa: F401
from tests.test_supervisor import _celery_worker

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
VISIBILITY_TIMEOUT_SECONDS = 3
ROWS = 1000


@pytest.fixture
def launch(
    tmp_path: Path,
    external_services_env: dict[str, str],  # noqa: F811
    broker: RedisProcess,
) -> Iterator[Launch]:
    env = {
        **external_services_env, "REDIS_URL": broker.url, "WEB_CONCURRENCY": "1", "CELERY_CONCURRENCY": "1",
        "HANGAR_TASK_VISIBILITY_TIMEOUT_SECONDS": str(VISIBILITY_TIMEOUT_SECONDS),
        # Taken over after 6 s without a beat instead of 30: the test waits for that.
        "HANGAR_DATA_IMPORT_HEARTBEAT_SECONDS": "1",
    }  # fmt: skip
    with launched_with_worker(env, tmp_path / "var") as started, celery_publishing_to(broker.url):
        yield started


def _job(pk: int) -> DataImportJob:
    return DataImportJob.objects.get(pk=pk)


def _wait_for(condition, what: str, launch: Launch, timeout: float = 240) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what}\n{launch.output()[-4000:]}"
        time.sleep(0.05)


def test_a_worker_killed_mid_import_is_resumed_and_imports_each_row_once(launch: Launch) -> None:
    tenant = make_tenant("importer")
    create_class(tenant, "Pet", {"age": {"type": "Number"}})
    content = orjson.dumps([{"age": number} for number in range(ROWS)])
    job = data_import.import_start(app=tenant.app, class_name="Pet", content=content, started_by=tenant.developer)
    _wait_for(lambda: _job(job.pk).done >= data_import.BATCH_SIZE, "the import never started", launch)

    worker = _celery_worker(launch)
    pool = worker.children()
    worker.kill()
    for process in pool:
        process.kill()
    psutil.wait_procs([worker, *pool], timeout=10)
    killed = _job(job.pk)
    assert killed.status == "running", "the worker was killed after the import ended"
    assert killed.done < ROWS

    _wait_for(lambda: _job(job.pk).finished, "the import was never resumed", launch)
    finished = _job(job.pk)
    found = async_to_sync(queries.object_find)(
        caller=master(tenant), class_name="Pet", params={"count": 1, "limit": 0}, files_base=""
    )
    assert (finished.status, finished.created, finished.done, finished.error_count) == ("done", ROWS, ROWS, 0)
    assert found["count"] == ROWS, "a row the killed worker had made was made again"
    assert finished.attempts == 2
    assert "worker exited (killed by SIGKILL); restarting in 1 s" in launch.output()
