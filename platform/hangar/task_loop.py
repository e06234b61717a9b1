"""Celery tasks run the platform's async code: one event loop per task, closed with what it opened."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


def run_in_own_loop(work: Callable[[], Awaitable[T]]) -> T:
    """Run async platform code in a loop of its own, then close what that loop opened.

    The data plane's connections, Redis and the sandbox pool are per event loop
    (hangar.loop_local); a task's loop ends with the task, so they are closed with it. Any
    task may have used the sandbox pool (a write it makes fires the app's triggers).
    """
    from hangar.cloudcode.logs import log_flush
    from hangar.cloudcode.pool import close_current_pool
    from hangar.db_pool import close_pool
    from hangar.egress import egress_connections_close
    from hangar.redis_async import close_redis

    async def main() -> T:
        try:
            return await work()
        finally:
            await close_current_pool()
            # Let background work end inside this loop (a killed worker being reaped, a log
            # flush): asyncio.run would cancel it, leaving a process transport to a closed loop.
            others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            if others:
                await asyncio.wait(others, timeout=10)
            await log_flush()
            await egress_connections_close()
            await close_redis()
            await close_pool()

    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        return runner.run(main())


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop when it is installed, as uvicorn serves the same code with (a push's send costs a third less)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a runtime requirement
        return None
    return uvloop.new_event_loop
