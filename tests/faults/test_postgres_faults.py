"""PostgreSQL restarted, stopped and frozen under a bounded load of creates and reads: 503 with Retry-After
meanwhile, never a 500 or a wait past the deadline, no acknowledged write lost, and service back at once.

The tests run their own cluster (initdb into a temporary directory, ``postgres`` on a free
loopback port) and a live Hangar whose DATABASE_URL points at it, so stopping or freezing
it touches nothing else on the machine. Hangar runs with short limits, so the suite stays
short: a 1.5 s statement timeout and a 2 s client-side deadline per unit of work.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import psycopg
import pytest

from hangar.db_pool import CANCEL_GRACE_SECONDS, DEADLINE_CHECK_SECONDS, IDLE_CHECK_AFTER_SECONDS
from tests.conftest import REPO_DIR, LiveServer, start_live_server, stop_live_server
from tests.faults.conftest import Answer, PostgresCluster, assert_honest, timed

pytestmark = pytest.mark.slow

DEADLINE_SECONDS = 2.0
# A request meets at most one data-plane unit that hangs (the first one to fail ends it): its deadline,
# checked every DEADLINE_CHECK_SECONDS, then the grace for the cancel; the event loop and the HTTP round
# trip get 1.5 s more on a machine whose two cores are shared (measured: 2.5-3.0 s in all).
LONGEST_ANSWER_SECONDS = DEADLINE_SECONDS + CANCEL_GRACE_SECONDS + 2 * DEADLINE_CHECK_SECONDS + 1.5
FREEZE_SECONDS = 6.0  # longer than that: a request that waited for the thaw would show
HANGAR_LIMITS = {
    "HANGAR_STATEMENT_TIMEOUT_MS": "1500",
    "HANGAR_DB_REQUEST_DEADLINE_SECONDS": str(DEADLINE_SECONDS),
    "HANGAR_DB_CONNECT_TIMEOUT_SECONDS": "2",  # libpq's least
    "HANGAR_DB_POOL_TIMEOUT_SECONDS": "1",
}


@dataclass
class FaultApp:
    """The live Hangar on the tests' cluster, one app on it, and the objects it acknowledged creating."""

    server: LiveServer
    cluster: PostgresCluster
    app_pk: int
    headers: dict[str, str]
    acknowledged: set[str] = field(default_factory=set)

    def client(self) -> httpx.AsyncClient:
        # A client timeout far above any deadline: a request that hangs shows as a long answer.
        return httpx.AsyncClient(base_url=f"{self.server.url}/parse", headers=self.headers, timeout=30)

    async def create(self, client: httpx.AsyncClient, n: int) -> tuple[int, str | None]:
        try:
            answer = await client.post("/classes/Thing", json={"n": n})
        except httpx.HTTPError:
            return 0, None
        if answer.status_code == 201:
            self.acknowledged.add(answer.json()["objectId"])
        return answer.status_code, answer.headers.get("retry-after")

    async def read(self, client: httpx.AsyncClient) -> tuple[int, str | None]:
        try:
            answer = await client.get("/classes/Thing", params={"limit": "5", "order": "-createdAt"})
        except httpx.HTTPError:
            return 0, None
        return answer.status_code, answer.headers.get("retry-after")

    def stored(self) -> set[str]:
        with psycopg.connect(self.cluster.url("hangar"), autocommit=True) as conn:
            rows = conn.execute(
                "SELECT object_id FROM datastore_object WHERE app_id = %s AND class_name = 'Thing'", [self.app_pk]
            ).fetchall()
        return {row[0] for row in rows}


def _manage(cluster: PostgresCluster, *args: str) -> str:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "hangar.settings_test", "DATABASE_URL": cluster.url("hangar"),
           "PYTHONPATH": os.pathsep.join([str(REPO_DIR / "platform"), str(REPO_DIR)])}  # fmt: skip
    done = subprocess.run([sys.executable, "manage.py", *args], env=env, cwd=REPO_DIR, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.fixture(scope="module")
def fault_app() -> Iterator[FaultApp]:
    cluster = PostgresCluster()
    server = None
    try:
        cluster.start()
        with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE hangar")
        _manage(cluster, "migrate", "--verbosity", "0")
        created = json.loads(_manage(cluster, "app_create", "--org", "faults", "--name", "faults", "--json"))
        server = start_live_server({"DATABASE_URL": cluster.url("hangar"), **HANGAR_LIMITS}, log_name="faults-pg.log")
        headers = {"X-Parse-Application-Id": created["application_id"], "X-Parse-Master-Key": created["keys"]["master"]}
        yield FaultApp(server=server, cluster=cluster, app_pk=created["app"]["id"], headers=headers)
    finally:
        if server is not None:
            stop_live_server(server)
        cluster.remove()


async def _load(app: FaultApp, seconds: float, *, workers: int = 4) -> list[Answer]:
    """A bounded loop of creates and reads from a few concurrent clients."""
    deadline = time.monotonic() + seconds
    numbers = itertools.count()

    async def worker(client: httpx.AsyncClient) -> list[Answer]:
        answers = []
        while time.monotonic() < deadline:
            answers.append(await timed(lambda n=next(numbers): app.create(client, n)))
            answers.append(await timed(lambda: app.read(client)))
            await asyncio.sleep(0.01)
        return answers

    async with app.client() as client:
        per_worker = await asyncio.gather(*(worker(client) for _ in range(workers)))
    return sorted(itertools.chain.from_iterable(per_worker), key=lambda answer: answer.started)


async def _burst(app: FaultApp, size: int = 24) -> list[Answer]:
    """Many creates at once, more than the pool holds, so every pooled connection is used: writes, which are
    never run twice, so one handed a dead connection fails (a read would run again and hide it)."""
    async with app.client() as client:
        return list(await asyncio.gather(*(timed(lambda i=i: app.create(client, i)) for i in range(size))))


def _in_the_background(action, after: float) -> asyncio.Task[tuple[float, float]]:  # type: ignore[no-untyped-def]
    """Run the blocking ``action`` after ``after`` seconds; the task's result is when it began and ended."""

    async def run() -> tuple[float, float]:
        await asyncio.sleep(after)
        began = time.monotonic()
        await asyncio.to_thread(action)
        return began, time.monotonic()

    return asyncio.create_task(run())


def _ok(answer: Answer) -> bool:
    return answer.status in (200, 201)


def _assert_all_succeed(answers: list[Answer]) -> None:
    assert answers
    assert all(_ok(answer) for answer in answers), [answer for answer in answers if not _ok(answer)][:5]


async def test_a_restart_under_load_fails_nothing_after_it_and_loses_no_acknowledged_write(fault_app: FaultApp):
    def restart() -> None:
        fault_app.cluster.stop()  # a fast shutdown
        fault_app.cluster.start()

    restarted = _in_the_background(restart, after=1.0)
    answers = await _load(fault_app, 4.0)
    _, back_at = await restarted
    assert_honest(answers, ok=(200, 201))
    _assert_all_succeed([answer for answer in answers if answer.started > back_at])
    assert fault_app.acknowledged <= fault_app.stored()

    # The case: a restart while no request runs, then a burst once the pool's idle connections
    # are old enough to be checked before use (IDLE_CHECK_AFTER_SECONDS; a minute is no different).
    await asyncio.to_thread(restart)
    await asyncio.sleep(IDLE_CHECK_AFTER_SECONDS + 1.0)
    burst = await _burst(fault_app)
    _assert_all_succeed(burst)
    assert fault_app.acknowledged <= fault_app.stored()


async def test_a_stopped_database_answers_503_promptly_and_service_is_back_within_a_second(fault_app: FaultApp):
    fault_app.cluster.stop()
    stopped_at = time.monotonic()
    restarted = _in_the_background(fault_app.cluster.start, after=15.0)
    answers = await _load(fault_app, 18.5)  # 3.5 s from the start: time to start, recover, and show it
    starting_at, back_at = await restarted
    assert_honest(answers, ok=(200, 201))
    during = [answer for answer in answers if stopped_at < answer.started and answer.ended < starting_at]
    assert len(during) > 20
    assert all(answer.status == 503 for answer in during)
    assert max(answer.seconds for answer in answers) < LONGEST_ANSWER_SECONDS  # refused at once: no hang
    _assert_all_succeed([answer for answer in answers if answer.started > back_at + 1.0])
    assert any(_ok(answer) for answer in answers if back_at < answer.started < back_at + 1.0)
    assert fault_app.acknowledged <= fault_app.stored()


async def test_a_frozen_database_never_holds_a_request_past_its_deadline(fault_app: FaultApp):
    frozen = _in_the_background(fault_app.cluster.freeze, after=1.0)
    thawed = _in_the_background(fault_app.cluster.thaw, after=1.0 + FREEZE_SECONDS)
    try:
        answers = await _load(fault_app, FREEZE_SECONDS + 4.0)
    finally:
        fault_app.cluster.thaw()
    (frozen_at, _), (_, thawed_at) = await frozen, await thawed
    assert_honest(answers, ok=(200, 201))
    assert any(answer.status == 503 for answer in answers)  # the freeze was seen, and answered honestly
    longest = max(answer.seconds for answer in answers)
    assert longest < LONGEST_ANSWER_SECONDS, f"a request waited {longest:.2f} s"
    assert frozen_at < thawed_at
    _assert_all_succeed([answer for answer in answers if answer.started > thawed_at + 1.0])
    assert fault_app.acknowledged <= fault_app.stored()
