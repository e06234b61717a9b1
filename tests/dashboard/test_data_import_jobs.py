"""The dashboard import's job record: resumed without duplicates after a lost run, never run twice at once,
and failed with the reason when the task queue is down at upload time."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import orjson
import pytest
from asgiref.sync import async_to_sync
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from hangar.datastore import queries
from tenants import data_browser, data_import
from tenants.models import DataImportJob
from tests.conftest import Tenant
from tests.dashboard.test_data import create_class, master, url
from tests.faults.conftest import RedisProcess

pytestmark = pytest.mark.django_db(transaction=True)


class Killed(BaseException):
    """Stands for SIGKILL in the process: nothing after it runs, not even ``except Exception``."""


def object_ids(tenant: Tenant, class_name: str) -> list[str]:
    found = async_to_sync(queries.object_find)(
        caller=master(tenant), class_name=class_name, params={"limit": 1000, "keys": "objectId"}, files_base=""
    )
    return sorted(row["objectId"] for row in found["results"])


@pytest.fixture
def not_queued(monkeypatch: pytest.MonkeyPatch) -> None:
    """import_start records and checks the job but no task runs it: the test runs it, as a worker would."""
    from tenants.tasks import data_import_run

    monkeypatch.setattr(data_import_run, "delay", lambda **kwargs: None)


def kill_after_creating(monkeypatch: pytest.MonkeyPatch, count: int) -> None:
    real = data_browser.data_object_create
    made: list[str] = []

    def create(**kwargs: Any) -> str:
        if len(made) == count:
            raise Killed
        made.append(real(**kwargs))
        return made[-1]

    monkeypatch.setattr(data_browser, "data_object_create", create)


def test_a_run_that_died_mid_batch_is_resumed_without_duplicates(
    tenant_a: Tenant, not_queued: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dead run recorded 4 rows and created 7; the next run makes the other 5 and counts all 12 once."""
    monkeypatch.setattr(data_import, "BATCH_SIZE", 4)
    create_class(tenant_a, "Pet", {"age": {"type": "Number"}})
    rows = [{"age": n} for n in range(12)]
    rows[2] = {"age": "two"}  # refused, in the batch the dead run recorded
    rows[9] = {"age": "nine"}  # refused, after it
    job = data_import.import_start(app=tenant_a.app, class_name="Pet", content=orjson.dumps(rows))
    kill_after_creating(monkeypatch, 7)
    with pytest.raises(Killed):
        data_import.import_run(app_pk=tenant_a.app.pk, job_id=job.public_id)
    monkeypatch.undo()
    died = DataImportJob.objects.get(pk=job.pk)
    assert (died.status, died.done, died.created, died.error_count) == ("running", 8, 7, 1)
    assert len(object_ids(tenant_a, "Pet")) == 7, "row 9 was created but not recorded"

    # Its task comes back while the dead run's heartbeat is fresh: retried later, not run twice at once.
    with pytest.raises(data_import.ImportBusyError):
        data_import.import_run(app_pk=tenant_a.app.pk, job_id=job.public_id)
    stale = timezone.now() - timedelta(seconds=data_import.heartbeat_stale_seconds() + 1)
    DataImportJob.objects.filter(pk=job.pk).update(heartbeat_at=stale)
    resumed = data_import.import_run(app_pk=tenant_a.app.pk, job_id=job.public_id)

    assert resumed is not None
    assert (resumed.status, resumed.done, resumed.created, resumed.error_count) == ("done", 12, 10, 2)
    assert resumed.errors == ["row 3: age is a Number column; this row has a String",
                              "row 10: age is a Number column; this row has a String"]  # fmt: skip
    assert (resumed.attempts, bytes(resumed.content)) == (2, b"")
    expected = sorted(data_import.object_id_for(job.public_id, n) for n in range(1, 13) if n not in (3, 10))
    assert object_ids(tenant_a, "Pet") == expected
    # A duplicate delivery of the finished job changes nothing.
    assert data_import.import_run(app_pk=tenant_a.app.pk, job_id=job.public_id) is None
    assert len(object_ids(tenant_a, "Pet")) == 10


def test_a_job_that_died_while_rolling_back_finishes_the_roll_back(
    tenant_a: Tenant, not_queued: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(data_import, "MAX_ROW_ERRORS", 1)
    create_class(tenant_a, "Pet", {"age": {"type": "Number"}})
    rows = [{"age": 1}, {"age": 2}, {"age": "x"}, {"age": "y"}]
    job = data_import.import_start(app=tenant_a.app, class_name="Pet", content=orjson.dumps(rows))
    real_delete = data_browser.data_objects_delete
    deleted: list[str] = []

    def delete(**kwargs: Any) -> int:
        if deleted:
            raise Killed
        deleted.append(kwargs["object_ids"][0])
        return real_delete(**kwargs)

    monkeypatch.setattr(data_browser, "data_objects_delete", delete)
    with pytest.raises(Killed):
        data_import.import_run(app_pk=tenant_a.app.pk, job_id=job.public_id)
    monkeypatch.setattr(data_browser, "data_objects_delete", real_delete)
    assert len(object_ids(tenant_a, "Pet")) == 1
    DataImportJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))

    finished = data_import.import_run(app_pk=tenant_a.app.pk, job_id=job.public_id)

    assert finished is not None
    assert (finished.status, finished.created, finished.rolled_back) == ("failed", 0, 1)
    assert "More than 1 rows were refused" in finished.fatal
    assert object_ids(tenant_a, "Pet") == []


def test_the_job_records_who_started_it_and_the_status_page_says_so(alice_client: Client, tenant_a: Tenant) -> None:
    create_class(tenant_a, "Pet", {"age": {"type": "Number"}})
    upload = SimpleUploadedFile("p.json", b'[{"age": 1}]', content_type="application/json")

    page = alice_client.post(url(tenant_a, "data_import", "Pet"), {"file": upload}, follow=True).content.decode()

    job = DataImportJob.objects.get(app=tenant_a.app)
    assert (job.started_by, job.status, job.created, job.finished_at is not None) == (
        tenant_a.developer,
        "done",
        1,
        True,
    )
    assert f"Started by {tenant_a.developer.email}" in page


@contextmanager
def celery_publishing_to(broker_url: str) -> Iterator[None]:
    """Celery in the test process publishes to ``broker_url`` instead of running tasks itself.

    The app's connection and producer pools are set aside and put back untouched (see
    tests/backups/test_outage.py: kombu keeps producer pools in a global registry).
    """
    from hangar.celery_app import app

    saved = {key: app.conf[key] for key in ("task_always_eager", "broker_url")}
    pools: tuple[Any, Any] = (app._pool, app.amqp._producer_pool)
    app.conf.update(task_always_eager=False, broker_url=broker_url)
    app._pool, app.amqp._producer_pool = None, None
    try:
        yield
    finally:
        if app._pool is not None:
            app._pool.force_close_all()
        app.conf.update(saved)
        app._pool, app.amqp._producer_pool = pools


@pytest.fixture
def stopped_broker(broker: RedisProcess) -> Iterator[None]:
    """A Redis of the test's own as Celery's broker, stopped before the test runs."""
    with celery_publishing_to(broker.url):
        broker.stop()
        yield


def test_an_upload_while_the_broker_is_down_fails_the_job_and_says_why(
    alice_client: Client, tenant_a: Tenant, stopped_broker: None
) -> None:
    create_class(tenant_a, "Pet", {"age": {"type": "Number"}})
    upload = SimpleUploadedFile("p.json", b'[{"age": 1}, {"age": 2}]', content_type="application/json")

    response = alice_client.post(url(tenant_a, "data_import", "Pet"), {"file": upload}, follow=True)

    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-status="failed"' in page
    assert "The task queue did not answer, so the import could not start" in page
    job = DataImportJob.objects.get(app=tenant_a.app)
    assert (job.status, job.created, job.finished_at is not None) == ("failed", 0, True)
    assert object_ids(tenant_a, "Pet") == []
