"""Work a request starts and does not wait for (after* triggers), kept track of so it can be waited for.

A task nobody holds is easy to lose: when its event loop stops, it stops wherever it was,
possibly inside an open transaction, and that transaction then holds its locks until the
server ends the session (``HANGAR_IDLE_IN_TRANSACTION_TIMEOUT_MS``). So every such task is
registered here, per loop, and the server's shutdown waits for them, up to a deadline, before
it closes the database pool; what is still running then is cancelled, which rolls back its
open transaction instead of leaving it open. The test suite waits for them the same way
before a test's data is flushed, since its one event loop stands still between tests.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)

# A server shutdown waits this long for after* triggers in flight: long enough for a trigger
# with its retries to end normally, short enough for a process manager's stop timeout.
SHUTDOWN_WAIT_SECONDS = 10.0

# Every loop's running background tasks (a server has one loop; the tests may have several).
_running: set[asyncio.Task[None]] = set()


def after_response_start(work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
    """Run ``work`` in the background of this loop, tracked until it ends."""
    task = asyncio.get_running_loop().create_task(work)
    _running.add(task)
    task.add_done_callback(_running.discard)
    return task


def _of_this_loop() -> set[asyncio.Task[None]]:
    loop = asyncio.get_running_loop()
    return {task for task in _running if task.get_loop() is loop}


async def after_response_wait(timeout: float = SHUTDOWN_WAIT_SECONDS) -> int:
    """Wait for this loop's background work to end, cancel what outlives ``timeout``; the number cancelled."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    # Work may start more work (an afterSave whose own save has an afterSave): wait until none is left.
    while tasks := _of_this_loop():
        left = deadline - loop.time()
        if left <= 0:
            late = tasks
            for task in late:
                task.cancel()  # an open transaction in it rolls back
            await asyncio.gather(*late, return_exceptions=True)
            log.warning("cancelled %d after-response tasks that outlived their wait", len(late))
            return len(late)
        await asyncio.wait(tasks, timeout=left)
    return 0


def after_response_finish_stopped_loops(timeout: float = SHUTDOWN_WAIT_SECONDS) -> None:
    """From outside any loop: let each open, stopped loop run until its background work has ended.

    For the test suite, whose event loop stands still between tests: a trigger left half-way would
    keep its transaction (and its locks) open while the next test flushes the database.
    """
    for loop in {task.get_loop() for task in list(_running)}:
        if not loop.is_closed() and not loop.is_running():
            loop.run_until_complete(after_response_wait(timeout))
