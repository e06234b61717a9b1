"""Warm sandboxed workers per (app, version), bounded per app and per process, evicted when idle.

A request takes an idle worker of its app's active version, or starts one when the
app and the process are under their bounds (an idle worker of another app is evicted
to make room), or waits for one until ``HANGAR_CLOUD_POOL_WAIT_SECONDS`` and is then
answered 503 with Retry-After. Workers of a version that is no longer active are never
reused. A worker is retired after its CPU budget would run out (it is replaced).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from django.conf import settings

from hangar.cloudcode.worker import SandboxWorker
from hangar.loop_local import LoopLocal
from hangar.parse_errors import SCRIPT_FAILED, ParseError

PoolKey = tuple[int, int, str]  # (app pk, version id, variables stamp)
Starter = Callable[[], Awaitable[SandboxWorker]]


def pool_busy_error() -> ParseError:
    return ParseError(SCRIPT_FAILED, "Cloud code is busy; retry shortly.", status=503, headers={"retry-after": "1"})


@dataclass
class WorkerPool:
    idle: dict[PoolKey, list[SandboxWorker]] = field(default_factory=dict)
    per_app: dict[int, int] = field(default_factory=dict)
    total: int = 0
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    reaper: asyncio.Task[None] | None = None

    def _count(self, app_pk: int, delta: int) -> None:
        self.per_app[app_pk] = self.per_app.get(app_pk, 0) + delta
        if self.per_app[app_pk] <= 0:
            self.per_app.pop(app_pk, None)
        self.total += delta

    def _take_idle(self, key: PoolKey) -> SandboxWorker | None:
        workers = self.idle.get(key)
        while workers:
            worker = workers.pop()
            if not worker.broken and worker.process.returncode is None:
                return worker
            self._count(key[0], -1)
        return None

    def _evict_one_idle(self, *, other_than: int | None = None, app_pk: int | None = None) -> bool:
        """Stop the least recently used idle worker (of one app, or of any app but one)."""
        candidates = [
            (worker.last_used, key, worker)
            for key, workers in self.idle.items()
            for worker in workers
            if (app_pk is None or key[0] == app_pk) and (other_than is None or key[0] != other_than)
        ]
        if not candidates:
            return False
        _, key, worker = min(candidates, key=lambda item: item[0])
        self.idle[key].remove(worker)
        self._count(key[0], -1)
        worker.kill()
        return True

    @contextlib.asynccontextmanager
    async def worker(self, key: PoolKey, start: Starter) -> AsyncIterator[SandboxWorker]:
        worker = await self._acquire(key, start)
        try:
            yield worker
        finally:
            await self._release(key, worker)

    async def _acquire(self, key: PoolKey, start: Starter) -> SandboxWorker:
        app_pk = key[0]
        deadline = time.monotonic() + settings.HANGAR_CLOUD_POOL_WAIT_SECONDS
        async with self.changed:
            while True:
                worker = self._take_idle(key)
                if worker is not None:
                    return worker
                if self.per_app.get(app_pk, 0) >= settings.HANGAR_CLOUD_WORKERS_PER_APP:
                    # Idle workers of the app's older versions (or variables) make room for the active one.
                    self._evict_one_idle(app_pk=app_pk)
                if self.total >= settings.HANGAR_CLOUD_WORKERS_MAX:
                    self._evict_one_idle(other_than=app_pk)
                if (
                    self.per_app.get(app_pk, 0) < settings.HANGAR_CLOUD_WORKERS_PER_APP
                    and self.total < settings.HANGAR_CLOUD_WORKERS_MAX
                ):
                    self._count(app_pk, 1)  # reserved while it starts
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise pool_busy_error()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.changed.wait(), remaining)
        self._ensure_reaper()
        try:
            return await start()
        except BaseException:
            async with self.changed:
                self._count(app_pk, -1)
                self.changed.notify_all()
            raise

    async def _release(self, key: PoolKey, worker: SandboxWorker) -> None:
        async with self.changed:
            retire = worker.broken or worker.process.returncode is not None or self._worn_out(worker)
            if retire:
                self._count(key[0], -1)
                worker.kill()
            else:
                self.idle.setdefault(key, []).append(worker)
            self.changed.notify_all()

    @staticmethod
    def _worn_out(worker: SandboxWorker) -> bool:
        # The CPU rlimit is a lifetime budget; retire the worker well before the kernel would kill it.
        lifetime = time.monotonic() - worker.started_at
        return lifetime > settings.HANGAR_CLOUD_CPU_SECONDS * 0.8 and worker.invocations > 0

    def _ensure_reaper(self) -> None:
        if self.reaper is None or self.reaper.done():
            self.reaper = asyncio.ensure_future(self._reap_idle())

    async def _reap_idle(self) -> None:
        period = max(1.0, settings.HANGAR_CLOUD_WORKER_IDLE_SECONDS / 4)
        while self.total:
            await asyncio.sleep(period)
            cutoff = time.monotonic() - settings.HANGAR_CLOUD_WORKER_IDLE_SECONDS
            async with self.changed:
                for key, workers in list(self.idle.items()):
                    for worker in [w for w in workers if w.last_used < cutoff or w.broken]:
                        workers.remove(worker)
                        self._count(key[0], -1)
                        worker.kill()
                self.changed.notify_all()

    async def drop_version(self, keep: Callable[[PoolKey], bool]) -> None:
        """Stop the idle workers whose key is no longer wanted (an app's old version)."""
        async with self.changed:
            for key in [key for key in self.idle if not keep(key)]:
                for worker in self.idle.pop(key):
                    self._count(key[0], -1)
                    worker.kill()
            self.changed.notify_all()

    async def close(self) -> None:
        async with self.changed:
            for key, workers in self.idle.items():
                for worker in workers:
                    self._count(key[0], -1)
                    await worker.stop()
            self.idle.clear()
        if self.reaper is not None:
            self.reaper.cancel()


_pools: LoopLocal[WorkerPool] = LoopLocal()


def current_pool() -> WorkerPool:
    pool = _pools.get()
    if pool is None:
        pool = WorkerPool()
        _pools.set(pool)
    return pool


async def close_current_pool() -> None:
    pool = _pools.pop()
    if pool is not None:
        await pool.close()
