"""The data plane's connection pool: hand-off to waiters, timeouts, and no poisoned connections."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest

from hangar.datastore.dates import WIRE_DATE_COLUMNS, format_date
from hangar.db_pool import DataPlanePool, DeadlineExceededError, PoolTimeout, data_plane_conninfo

pytestmark = pytest.mark.django_db(transaction=True)


def _pool(max_size: int = 2, timeout: float = 5, deadline: float = 10) -> DataPlanePool:
    return DataPlanePool(data_plane_conninfo(), min_size=0, max_size=max_size, timeout=timeout, deadline=deadline)


async def _backend_pid(pool: DataPlanePool) -> int:
    async with pool.connection() as conn:
        cursor = await conn.execute("SELECT pg_backend_pid()")
        return (await cursor.fetchone())[0]


async def test_connections_are_reused_and_bounded():
    pool = _pool(max_size=2)
    try:
        first = await _backend_pid(pool)
        assert await _backend_pid(pool) == first  # the idle connection is reused, not reopened
        in_use = 0
        peak = 0

        async def work() -> None:
            nonlocal in_use, peak
            async with pool.connection() as conn:
                in_use += 1
                peak = max(peak, in_use)
                await conn.execute("SELECT pg_sleep(0.02)")
                in_use -= 1

        await asyncio.gather(*(work() for _ in range(10)))
        assert peak == 2  # the others waited for a connection to come back
    finally:
        await pool.close()


async def test_a_waiter_times_out_with_a_pool_timeout():
    pool = _pool(max_size=1, timeout=0.2)
    try:
        async with pool.connection():
            with pytest.raises(PoolTimeout):
                async with pool.connection():
                    pass
        assert await _backend_pid(pool) > 0  # the held connection came back usable
    finally:
        await pool.close()


async def test_a_cancelled_waiter_does_not_lose_the_connection():
    pool = _pool(max_size=1)
    try:
        async with pool.connection():
            waiter = asyncio.create_task(_backend_pid(pool))
            await asyncio.sleep(0.05)
            waiter.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiter
        assert await asyncio.wait_for(_backend_pid(pool), 2) > 0
    finally:
        await pool.close()


async def test_a_connection_left_in_a_transaction_or_closed_is_replaced():
    pool = _pool(max_size=1)
    try:
        first = await _backend_pid(pool)
        async with pool.connection() as conn:
            await conn.execute("BEGIN")  # a failure path that never committed nor rolled back
        second = await _backend_pid(pool)
        assert second != first
        async with pool.connection() as conn:
            await conn.close()
        assert await _backend_pid(pool) not in {first, second}
    finally:
        await pool.close()


async def test_a_waiter_gets_a_fresh_connection_when_the_busy_one_breaks():
    pool = _pool(max_size=1)
    try:
        async with pool.connection() as conn:
            waiter = asyncio.create_task(_backend_pid(pool))
            await asyncio.sleep(0.05)
            broken = (await (await conn.execute("SELECT pg_backend_pid()")).fetchone())[0]
            await conn.close()
        assert await asyncio.wait_for(waiter, 5) != broken
    finally:
        await pool.close()


async def test_connections_run_as_the_data_plane_role_with_a_statement_timeout():
    pool = _pool()
    try:
        async with pool.connection() as conn:
            cursor = await conn.execute("SELECT current_user, current_setting('statement_timeout')")
            user, timeout = await cursor.fetchone()
        assert user == "hangar_dataplane"
        assert timeout not in {"0", ""}
    finally:
        await pool.close()


@pytest.mark.parametrize(
    "stamp",
    [
        datetime(2026, 11, 22, 20, 18, 36, 123000, tzinfo=UTC),
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),  # no fraction: still three digits
        datetime(999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC),
    ],
)
async def test_wire_date_columns_match_format_date(stamp: datetime):
    pool = _pool()
    try:
        async with pool.connection() as conn:
            cursor = await conn.execute(
                f"SELECT {WIRE_DATE_COLUMNS} "
                "FROM (SELECT %s::timestamptz AS created_at, %s::timestamptz AS updated_at) AS t",
                [stamp, stamp],
            )
            created, updated = await cursor.fetchone()
        assert created == updated == format_date(stamp)
    finally:
        await pool.close()


async def _terminate(pid: int) -> None:
    """End a backend from outside the pool, as a server restart or an administrator would."""
    import psycopg

    from hangar.db_pool import data_plane_conninfo as conninfo

    async with await psycopg.AsyncConnection.connect(conninfo(), autocommit=True) as admin:
        await admin.execute("SELECT pg_terminate_backend(%s)", [pid])


async def test_a_connection_that_died_while_idle_is_never_handed_to_a_request(monkeypatch: pytest.MonkeyPatch):
    """After a restart, the next request gets a fresh connection instead of failing on the dead one."""
    import hangar.db_pool as db_pool

    monkeypatch.setattr(db_pool, "IDLE_CHECK_AFTER_SECONDS", 0.0)
    pool = _pool(max_size=2)
    try:
        dead = await _backend_pid(pool)
        await _terminate(dead)
        await asyncio.sleep(0.2)  # the server's goodbye reaches the idle socket
        async with pool.connection() as conn:
            cursor = await conn.execute("SELECT pg_backend_pid()")
            fresh = (await cursor.fetchone())[0]
        assert fresh != dead
        assert pool._size == 1  # the dead one was discarded, not leaked
    finally:
        await pool.close()


async def test_a_recently_used_connection_is_handed_out_without_a_check(monkeypatch: pytest.MonkeyPatch):
    """Under load connections come back within the check interval: no poll on the hot path."""
    import hangar.db_pool as db_pool

    checked: list[int] = []
    monkeypatch.setattr(db_pool, "_died_while_idle", lambda conn: checked.append(1) or False)
    pool = _pool(max_size=1)
    try:
        await _backend_pid(pool)
        await _backend_pid(pool)
        assert checked == []
    finally:
        await pool.close()


async def _running_statements(marker: str) -> int:
    import psycopg

    async with await psycopg.AsyncConnection.connect(data_plane_conninfo(), autocommit=True) as admin:
        cursor = await admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE %s", [f"%{marker}%"]
        )
        return (await cursor.fetchone())[0]


async def test_a_statement_past_the_deadline_is_cancelled_and_its_connection_closed():
    """The client's own deadline ends the request and the statement, even where the server's timeout is longer."""
    pool = _pool(max_size=1, deadline=0.5)
    try:
        async with pool.connection() as conn:
            await conn.execute("SET statement_timeout = 0")
            held = (await (await conn.execute("SELECT pg_backend_pid()")).fetchone())[0]
        started = time.monotonic()
        with pytest.raises(DeadlineExceededError):
            async with pool.connection() as conn:
                await conn.execute("SELECT pg_sleep(30) -- deadline-test")
        assert time.monotonic() - started < 1.5
        assert await _running_statements("deadline-test") == 0  # cancelled on the server, not left running
        assert await _backend_pid(pool) != held  # that connection was not handed on
        assert pool._size == 1
    finally:
        await pool.close()


async def test_a_block_that_holds_its_connection_past_the_deadline_is_stopped():
    pool = _pool(max_size=1, deadline=0.3)
    try:
        with pytest.raises(DeadlineExceededError):
            async with pool.connection():
                await asyncio.sleep(30)  # e.g. a call to another service inside a transaction
        assert await _backend_pid(pool) > 0
    finally:
        await pool.close()


async def test_a_cancellation_from_elsewhere_stays_a_cancellation():
    """A client that went away cancels its request's task: that is not an outage, and is not reported as one."""
    pool = _pool(max_size=1, deadline=5)
    try:

        async def hold() -> None:
            async with pool.connection() as conn:
                await conn.execute("SELECT pg_sleep(30) -- cancelled-elsewhere")

        task = asyncio.create_task(hold())
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await asyncio.wait_for(_backend_pid(pool), 2) > 0
    finally:
        await pool.close()


def test_a_pool_left_by_an_ended_loop_is_closed_when_the_next_loop_opens_one(db) -> None:
    """Sync callers (async_to_sync outside a server) run the data plane on loops that end without closing it."""
    import asyncio

    from hangar.db_pool import get_pool, pools_of_ended_loops_close

    async def idle_connections() -> list:
        pool = await get_pool()
        return list(pool._idle)

    first = asyncio.run(idle_connections())
    assert first
    assert not any(conn.closed for conn in first)
    second = asyncio.run(idle_connections())
    assert all(conn.closed for conn in first)
    assert second
    assert not any(conn.closed for conn in second)
    third = asyncio.run(idle_connections())  # and the second's, in turn
    assert all(conn.closed for conn in second)
    pools_of_ended_loops_close()  # what the third loop's owner would have to do without a fourth
    assert all(conn.closed for conn in third)
