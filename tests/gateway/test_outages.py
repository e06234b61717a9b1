"""A dependency outage answers 503 with Retry-After (not a generic 500), and is logged once per interval."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest
from psycopg import OperationalError

from hangar.db_pool import DeadlineExceededError, PoolTimeout
from hangar.outages import RepeatedFailureLog
from tests.conftest import Tenant
from tests.datastore.conftest import ParseApp

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def app_a(parse_client: httpx.AsyncClient, tenant_a: Tenant) -> ParseApp:
    return ParseApp(parse_client, tenant_a)


async def _warm(app: ParseApp) -> None:
    """The app and its schema are cached, as in a process that has served it before the outage."""
    assert (await app.request("POST", "/classes/Thing", {"n": 1}, master=True)).status_code == 201
    assert (await app.request("GET", "/classes/Thing", master=True)).status_code == 200


@pytest.mark.parametrize(
    "failure",
    [
        OperationalError("connection refused"),
        PoolTimeout("no connection in 5 s"),
        DeadlineExceededError("the database did not answer within 6 s"),
    ],
)
async def test_a_database_outage_answers_503_with_retry_after(app_a: ParseApp, monkeypatch, failure, caplog):
    await _warm(app_a)

    async def unavailable() -> None:
        raise failure

    monkeypatch.setattr("hangar.datastore.connection.get_pool", unavailable)
    with caplog.at_level(logging.ERROR, logger="hangar.gateway.asgi"):
        answers = [await app_a.request("GET", "/classes/Thing", master=True) for _ in range(5)]
    for answer in answers:
        assert answer.status_code == 503
        assert answer.headers["retry-after"] == "1"
        assert answer.json()["code"] == 100
    # One traceback for the outage, not one per request.
    assert len([r for r in caplog.records if r.exc_info]) == 1


async def test_a_redis_outage_answers_503_within_its_deadline(app_a: ParseApp, monkeypatch, settings):
    """Admission's Redis round trip fails fast against a server that accepts and never answers."""
    import hangar.redis_async as redis_async
    from hangar.loop_local import LoopLocal

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    settings.REDIS_URL = f"redis://127.0.0.1:{server.sockets[0].getsockname()[1]}/0"
    settings.HANGAR_REDIS_TIMEOUT_SECONDS = 0.2
    monkeypatch.setattr(redis_async, "_clients", LoopLocal())
    try:
        answer = await asyncio.wait_for(app_a.request("GET", "/classes/Thing", master=True), timeout=5)
        assert (answer.status_code, answer.headers["retry-after"], answer.json()["code"]) == (503, "1", 100)
    finally:
        await redis_async.close_redis()
        server.close()


def test_repeated_failures_are_logged_once_per_interval_with_a_count(caplog):
    logger = logging.getLogger("hangar.test.outages")
    failures = RepeatedFailureLog(logger, interval=0.0)
    quiet = RepeatedFailureLog(logger, interval=3600)
    with caplog.at_level(logging.ERROR, logger="hangar.test.outages"):
        for _ in range(3):
            quiet.failure(ConnectionError("refused"), "redis")
        failures.failure(ConnectionError("refused"), "redis")
        failures.failure(ConnectionError("refused"), "redis")
    messages = [record.getMessage() for record in caplog.records]
    assert messages.count("redis: ConnectionError") == 2  # first occurrence of each log, with traceback
    assert "redis: ConnectionError: refused (and 0 more like it in the last 0 s)" in messages
    assert len(messages) == 3


async def _terminate_pooled_connections(monkeypatch) -> None:
    """End every idle data-plane backend as a failover would, unseen by the pool's idle check."""
    import psycopg

    import hangar.db_pool as db_pool

    monkeypatch.setattr(db_pool, "_died_while_idle", lambda conn: False)
    pool = await db_pool.get_pool()
    pids = [conn.pgconn.backend_pid for conn in pool._idle]
    async with await psycopg.AsyncConnection.connect(db_pool.data_plane_conninfo(), autocommit=True) as admin:
        for pid in pids:
            await admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    await asyncio.sleep(0.2)


async def test_a_read_whose_connection_was_lost_runs_again_on_a_fresh_one(app_a: ParseApp, monkeypatch):
    created = await app_a.request("POST", "/classes/Thing", {"n": 7}, master=True)
    object_id = created.json()["objectId"]
    await _terminate_pooled_connections(monkeypatch)
    got = await app_a.request("GET", f"/classes/Thing/{object_id}", master=True)
    assert (got.status_code, got.json().get("n")) == (200, 7), got.text
    await _terminate_pooled_connections(monkeypatch)
    found = await app_a.request("GET", "/classes/Thing", master=True, params={"count": 1})
    assert (found.status_code, found.json()["count"]) == (200, 1)


async def test_a_write_whose_connection_was_lost_is_not_repeated(app_a: ParseApp, monkeypatch):
    """Whether a lost write committed is unknown: the client hears 503 and decides; Hangar never repeats it."""
    created = await app_a.request("POST", "/classes/Thing", {"n": 1}, master=True)
    object_id = created.json()["objectId"]
    await app_a.request("GET", f"/classes/Thing/{object_id}", master=True)  # the schema is cached: no read first
    await _terminate_pooled_connections(monkeypatch)
    increment = {"n": {"__op": "Increment", "amount": 1}}
    answer = await app_a.request("PUT", f"/classes/Thing/{object_id}", increment, master=True)
    assert (answer.status_code, answer.json()["code"]) == (503, 100)
    assert (await app_a.request("GET", f"/classes/Thing/{object_id}", master=True)).json()["n"] == 1
