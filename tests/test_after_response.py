"""Work a request does not wait for is waited for at shutdown, and cancelled (rolled back) past a deadline."""

from __future__ import annotations

import asyncio

import pytest

from hangar.after_response import after_response_finish_stopped_loops, after_response_start, after_response_wait
from hangar.db_pool import get_pool


async def test_shutdown_waits_for_work_in_flight_and_for_the_work_it_starts() -> None:
    done: list[str] = []

    async def second() -> None:
        await asyncio.sleep(0.05)
        done.append("second")

    async def first() -> None:
        await asyncio.sleep(0.05)
        after_response_start(second())  # an afterSave whose own save has an afterSave
        done.append("first")

    after_response_start(first())
    assert await after_response_wait(timeout=5) == 0
    assert done == ["first", "second"]


@pytest.mark.django_db(transaction=True)
async def test_work_past_the_deadline_is_cancelled_and_its_transaction_rolled_back() -> None:
    pool = await get_pool()
    backend: list[int] = []

    async def stuck_in_a_transaction() -> None:
        async with pool.connection() as conn, conn.transaction():
            backend.append(conn.pgconn.backend_pid)
            await conn.run("SELECT pg_advisory_xact_lock(4242)")
            await asyncio.sleep(3600)

    after_response_start(stuck_in_a_transaction())
    await asyncio.sleep(0.2)
    assert backend
    assert await after_response_wait(timeout=0.3) == 1
    async with pool.connection() as conn:
        # Nobody holds the transaction's lock any more, and no session of ours sits in a transaction.
        assert await conn.fetch_one("SELECT pg_try_advisory_lock(4242)") == (True,)
        await conn.run("SELECT pg_advisory_unlock(4242)")
        row = await conn.fetch_one(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = %s AND state LIKE 'idle in%%'", [backend[0]]
        )
    assert row == (0,)


def test_a_stopped_loop_is_run_until_its_background_work_has_ended() -> None:
    loop = asyncio.new_event_loop()
    finished: list[bool] = []

    async def slow() -> None:
        await asyncio.sleep(0.1)
        finished.append(True)

    async def request() -> None:
        after_response_start(slow())  # the request answers; its trigger is still running

    try:
        loop.run_until_complete(request())
        assert finished == []  # the loop stands still, as the test suite's does between tests
        after_response_finish_stopped_loops(timeout=5)
        assert finished == [True]
    finally:
        loop.close()
