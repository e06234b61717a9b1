"""The warm pool under contention, with real sandboxed workers: handoff order, bounds, busy answers, no leaks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from hangar.cloudcode import sandbox
from hangar.cloudcode.pool import WorkerPool
from hangar.cloudcode.worker import SandboxWorker
from hangar.parse_errors import ParseError
from tests.cloudcode.conftest import bundle_of

KEY = (1, 1, "")
BUNDLE = {
    "main.py": """
    from hangar_cloud import define

    @define("echo")
    def echo(request):
        return request.params["n"]
    """
}


class Starts:
    """Starts real workers on one unpacked bundle and counts them."""

    def __init__(self, bundle: Path) -> None:
        self.bundle = bundle
        self.count = 0

    async def __call__(self) -> SandboxWorker:
        self.count += 1
        return await SandboxWorker.start(bundle=self.bundle, env={}, limits=sandbox.default_limits(), timeout=10)


@pytest.fixture
async def pool_and_starts(settings: Any) -> AsyncIterator[tuple[WorkerPool, Starts]]:
    settings.HANGAR_CLOUD_WORKERS_PER_APP = 1
    directory = sandbox.unpack_bundle(bundle_of(BUNDLE).archive, label="pool-test")
    pool = WorkerPool()
    yield pool, Starts(directory)
    await pool.close()
    sandbox.remove_bundle_dir(directory)


async def _no_calls(operation: str, arguments: dict[str, Any], master: bool) -> Any:
    raise AssertionError("the echo function makes no data calls")


async def _echo(pool: WorkerPool, starts: Starts, n: int, finished: list[int]) -> Any:
    async with pool.worker(KEY, starts) as worker:
        message = {"kind": "function", "name": "echo", "params": {"n": n}, "context": {}, "master": False,
                   "installationId": None, "ip": "127.0.0.1", "headers": {}, "user": None}  # fmt: skip
        done = await worker.invoke(message, timeout=10, on_call=_no_calls)
    finished.append(n)
    return done["result"]


async def test_a_returned_worker_goes_to_the_requests_waiting_in_arrival_order(
    pool_and_starts: tuple[WorkerPool, Starts],
) -> None:
    pool, starts = pool_and_starts
    finished: list[int] = []
    results = await asyncio.gather(*(_echo(pool, starts, n, finished) for n in range(6)))
    assert results == list(range(6))
    assert finished == list(range(6))  # first come, first served
    assert starts.count == 1  # one worker (the app's bound), reused by every request
    assert (pool.total, len(pool.idle[KEY]), pool.waiters) == (1, 1, {})


async def test_a_request_that_waits_past_the_pool_wait_is_answered_busy(
    pool_and_starts: tuple[WorkerPool, Starts], settings: Any
) -> None:
    pool, starts = pool_and_starts
    settings.HANGAR_CLOUD_POOL_WAIT_SECONDS = 0.2
    async with pool.worker(KEY, starts):
        with pytest.raises(ParseError) as busy:
            async with pool.worker(KEY, starts):
                pass
    assert (busy.value.status, busy.value.headers) == (503, {"retry-after": "1"})
    assert (pool.total, len(pool.idle[KEY]), pool.waiters, starts.count) == (1, 1, {}, 1)


async def test_a_worker_handed_to_a_request_cancelled_meanwhile_goes_to_the_next_one(
    pool_and_starts: tuple[WorkerPool, Starts],
) -> None:
    pool, starts = pool_and_starts
    finished: list[int] = []
    holder = await pool._acquire(KEY, starts)
    first = asyncio.ensure_future(_echo(pool, starts, 1, finished))
    second = asyncio.ensure_future(_echo(pool, starts, 2, finished))
    while len(pool.waiters.get(KEY, ())) < 2:
        await asyncio.sleep(0.01)
    pool._release(KEY, holder)  # handed to the first waiter, which is cancelled before it runs
    first.cancel()
    assert await second == 2
    with pytest.raises(asyncio.CancelledError):
        await first
    assert finished == [2]
    assert (pool.total, len(pool.idle[KEY]), pool.waiters, starts.count) == (1, 1, {}, 1)


async def test_a_retired_worker_makes_room_for_a_new_one(pool_and_starts: tuple[WorkerPool, Starts]) -> None:
    pool, starts = pool_and_starts
    finished: list[int] = []
    holder = await pool._acquire(KEY, starts)
    waiting = asyncio.ensure_future(_echo(pool, starts, 3, finished))
    while not pool.waiters.get(KEY):
        await asyncio.sleep(0.01)
    holder.kill()  # crashed or timed out: never reused
    pool._release(KEY, holder)
    assert await waiting == 3
    assert (pool.total, starts.count) == (1, 2)
