"""Warm sandboxed workers per (app, version), bounded per app and per process, evicted when idle.

A request takes an idle worker of its app's active version, or starts one when the
app and the process are under their bounds (an idle worker of another app is evicted
to make room), or waits for one until ``HANGAR_CLOUD_POOL_WAIT_SECONDS`` and is then
answered 503 with Retry-After. A worker is retired after its CPU budget would run out
(it is replaced).

Workers of a version that is no longer active are stopped as soon as the process learns
of the change: from the app-changed message the activation publishes (idle ones at once,
busy ones when their invocation ends), and at the latest with the app's next request,
which carries the new (version, variables) key.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from asgiref.sync import sync_to_async
from django.conf import settings

from hangar.cloudcode.worker import SandboxWorker
from hangar.invalidation import app_changed_channel
from hangar.loop_local import LoopLocal
from hangar.parse_errors import SCRIPT_FAILED, ParseError

logger = logging.getLogger(__name__)

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
    watcher: asyncio.Task[None] | None = None
    # The newest key each app was asked for: workers of any other key are not kept.
    current: dict[int, PoolKey] = field(default_factory=dict)
    application_ids: dict[int, str] = field(default_factory=dict)

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
    async def worker(self, key: PoolKey, start: Starter, *, application_id: str = "") -> AsyncIterator[SandboxWorker]:
        if application_id:
            self.application_ids[key[0]] = application_id
        worker = await self._acquire(key, start)
        try:
            yield worker
        finally:
            await self._release(key, worker)

    def _stop_idle_of_app(self, app_pk: int, *, keep: Callable[[PoolKey], bool]) -> None:
        for key in [key for key in self.idle if key[0] == app_pk and not keep(key)]:
            for worker in self.idle.pop(key):
                self._count(app_pk, -1)
                worker.kill()

    async def _acquire(self, key: PoolKey, start: Starter) -> SandboxWorker:
        app_pk = key[0]
        deadline = time.monotonic() + settings.HANGAR_CLOUD_POOL_WAIT_SECONDS
        async with self.changed:
            if self.current.get(app_pk) != key:
                # A new version or new variables: the old workers are of no further use.
                self.current[app_pk] = key
                self._stop_idle_of_app(app_pk, keep=lambda other: other == key)
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
            retire = (
                worker.broken
                or worker.process.returncode is not None
                or self._worn_out(worker)
                or self.current.get(key[0], key) != key
            )
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
        if self.watcher is None or self.watcher.done():
            self.watcher = asyncio.ensure_future(self._watch_activations())

    async def _watch_activations(self) -> None:
        """Follow the apps' change messages while there are workers; stop those of a replaced version."""
        client = aioredis.Redis.from_url(str(settings.REDIS_URL), driver_info=None)
        pubsub = client.pubsub()
        try:
            await pubsub.psubscribe(app_changed_channel("*"))
            while self.total:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if message is not None:
                    channel = message["channel"].decode()
                    await self._app_changed(channel.removeprefix(app_changed_channel("")))
        except asyncio.CancelledError:
            raise
        except Exception:  # Redis away: the next request's key still retires the old workers
            logger.warning("cloud-code pool lost its Redis subscription", exc_info=True)
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()
                await client.aclose()

    async def _app_changed(self, application_id: str) -> None:
        from hangar.cloudcode.selectors import active_version_id

        for app_pk in [pk for pk, known in self.application_ids.items() if known == application_id]:
            active = await sync_to_async(active_version_id)(app_pk)
            async with self.changed:
                current = self.current.get(app_pk)
                if current is not None and current[1] != active:
                    # Busy workers of the old version are retired when released (the key no longer matches).
                    self.current[app_pk] = (app_pk, active or 0, "")
                self._stop_idle_of_app(app_pk, keep=lambda key, active=active: key[1] == active)  # type: ignore[misc]
                self.changed.notify_all()

    async def _reap_idle(self) -> None:
        period = max(0.25, settings.HANGAR_CLOUD_WORKER_IDLE_SECONDS / 4)
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
        for task in (self.reaper, self.watcher):
            if task is not None:
                task.cancel()


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
