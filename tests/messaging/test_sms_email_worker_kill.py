"""A Celery worker SIGKILLed in the middle of a provider call: the message is not sent twice, the next one once.

`make run`'s launcher serves against a Redis of the test's own (the broker) with one worker
process; the provider is tests.messaging.recording_provider in the served processes (every
send appended to a file, a "hold" message keeping its call open), since the provider is the
adapter seam and the engine is what is under test.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
import redis

from hangar.messaging.sms_email_models import Message
from tenants.services import access_token_create
from tests.conftest import Tenant, make_tenant
from tests.faults.conftest import RedisProcess, launched_with_worker
from tests.test_launcher import Launch, external_services_env  # noqa: F401
from tests.test_supervisor import _celery_worker

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
VISIBILITY_TIMEOUT_SECONDS = 3


@pytest.fixture
def sends_log(tmp_path: Path) -> Path:
    path = tmp_path / "sends.log"
    path.touch()
    return path


@pytest.fixture
def launch(
    tmp_path: Path,
    external_services_env: dict[str, str],  # noqa: F811
    broker: RedisProcess,
    sends_log: Path,
) -> Iterator[Launch]:
    env = {
        **external_services_env, "REDIS_URL": broker.url, "WEB_CONCURRENCY": "1", "CELERY_CONCURRENCY": "1",
        "HANGAR_TASK_VISIBILITY_TIMEOUT_SECONDS": str(VISIBILITY_TIMEOUT_SECONDS),
        "HANGAR_MESSAGING_PROVIDERS": "tests.messaging.recording_provider",
        "HANGAR_TEST_PROVIDER_LOG": str(sends_log), "HANGAR_TEST_PROVIDER_HOLD_SECONDS": "60",
    }  # fmt: skip
    with launched_with_worker(env, tmp_path / "var") as started:
        yield started


def _send(launch: Launch, tenant: Tenant, token: str, body: str) -> int:
    answer = httpx.post(
        f"{launch.url}/api/v1/organizations/{tenant.organization.pk}/apps/{tenant.app.pk}/messaging/sms",
        json={"to": "+14155550100", "body": body}, headers={"Authorization": f"Bearer {token}"}, timeout=10,
    )  # fmt: skip
    assert answer.status_code == 202, answer.text
    return int(answer.json()["id"])


def _wait_for(condition, what: str, launch: Launch, timeout: float = 60) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what}\n{launch.output()[-4000:]}"
        time.sleep(0.2)


def _sent(log: Path, body: str) -> int:
    return sum(1 for line in log.read_text().splitlines() if line.endswith(f" {body}"))


def test_a_worker_killed_during_the_provider_call_sends_nothing_twice(
    launch: Launch, broker: RedisProcess, sends_log: Path
) -> None:
    tenant = make_tenant("texter")
    _, token = access_token_create(developer=tenant.developer, name="faults")
    queue = redis.Redis.from_url(broker.url)
    held = _send(launch, tenant, token, "hold-1")
    _wait_for(lambda: _sent(sends_log, "hold-1") == 1, "the provider was never called", launch)
    after = _send(launch, tenant, token, "after-1")  # queued behind the held call

    worker = _celery_worker(launch)
    pool = worker.children()
    worker.kill()
    for process in pool:
        process.kill()
    psutil.wait_procs([worker, *pool], timeout=10)

    _wait_for(lambda: _sent(sends_log, "after-1") == 1, "the queued message was lost", launch)
    # The held task comes back once its lease lapses, finds its message claimed, and sends nothing.
    _wait_for(lambda: (queue.llen("celery"), queue.hlen("unacked")) == (0, 0), "tasks still queued", launch)
    time.sleep(VISIBILITY_TIMEOUT_SECONDS + 2)
    assert (_sent(sends_log, "hold-1"), _sent(sends_log, "after-1")) == (1, 1)
    statuses = dict(Message.objects.filter(pk__in=[held, after]).values_list("pk", "status"))
    # The killed call's outcome is unknown: recorded as such, not retried (at most once).
    assert statuses == {held: "sending", after: "sent"}
    assert "worker exited (killed by SIGKILL); restarting in 1 s" in launch.output()
