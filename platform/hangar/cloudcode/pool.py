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

Under load most requests wait: a worker that comes back is handed straight to the
oldest waiter of its key (one future resolved, no other waiter woken), and only a
change of capacity (a worker retired, evicted or failing to start) wakes every waiter
to look again. Waking all of them on every return cost each request a pass through
every waiter (30% of a warm function's CPU at 32 requests in flight per process).

Pipelining: a request that may (a function or trigger called by a client, not a nested
call or a job) is queued behind a busy worker of its key whose running invocation started
less than ``HANGAR_CLOUD_PIPELINE_MAX_RUNNING_MS`` ago, up to
``HANGAR_CLOUD_PIPELINE_DEPTH`` invocations per worker: before another worker is started
when that worker's invocations are typically shorter than ``HANGAR_CLOUD_PIPELINE_SHORT_MS``
(a function that waits on data calls keeps its concurrency), else once the app is at its
bound. Its invoke frame is then already in the channel when the worker finishes the one
before, so the sandbox and the server are not each put to sleep and woken once per
invocation: on two cores that round of wake-ups cost more than the function itself.
Queued requests keep their order with the waiters: nobody is queued while older requests
of the key wait. Nothing is queued behind a worker held by a job or a nested call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from django.conf import settings

from hangar.cloudcode.worker import SandboxWorker
from hangar.datastore.connection import app_read
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
    # Every change below happens between two awaits, so the event loop is the only lock needed.
    idle: dict[PoolKey, list[SandboxWorker]] = field(default_factory=dict)
    per_app: dict[int, int] = field(default_factory=dict)
    total: int = 0
    # Per key, the requests waiting in arrival order: resolved with a worker (a handoff) or None (look again).
    waiters: dict[PoolKey, deque[asyncio.Future[SandboxWorker | None]]] = field(default_factory=dict)
    # The waiters that may be queued behind a busy worker (pipelining).
    may_queue: set[asyncio.Future[SandboxWorker | None]] = field(default_factory=set)
    # Per key, the workers some request holds (SandboxWorker.leases > 0).
    busy: dict[PoolKey, list[SandboxWorker]] = field(default_factory=dict)
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
    async def worker(
        self, key: PoolKey, start: Starter, *, application_id: str = "", pipeline: bool = False
    ) -> AsyncIterator[SandboxWorker]:
        """A worker of ``key`` for one invocation; with ``pipeline``, possibly one busy with others (queued)."""
        if application_id:
            self.application_ids[key[0]] = application_id
        worker = await self._acquire(key, start, pipeline=pipeline)
        try:
            yield worker
        finally:
            self._release(key, worker)

    def _lease(self, key: PoolKey, worker: SandboxWorker, *, exclusive: bool = False) -> SandboxWorker:
        """Count a request holding ``worker``; an exclusive one (a job, a nested call) has nobody queued behind it."""
        worker.leases += 1
        if worker.leases == 1:
            self.busy.setdefault(key, []).append(worker)
            worker.exclusive = exclusive
        return worker

    def _can_queue_behind(self, key: PoolKey, worker: SandboxWorker) -> bool:
        return (
            0 < worker.leases < settings.HANGAR_CLOUD_PIPELINE_DEPTH
            and not worker.exclusive
            and not worker.broken
            and worker.process.returncode is None
            and self.current.get(key[0], key) == key
            and not self._worn_out(worker)
            and (time.monotonic() - worker.running_since) * 1000 < settings.HANGAR_CLOUD_PIPELINE_MAX_RUNNING_MS
        )

    def _busy_worker_to_queue_behind(self, key: PoolKey, *, short_only: bool = False) -> SandboxWorker | None:
        candidates = [
            worker for worker in self.busy.get(key, ())
            if self._can_queue_behind(key, worker) and (not short_only or _runs_short(worker))
        ]  # fmt: skip
        return min(candidates, key=lambda worker: worker.leases) if candidates else None

    def _hand_to_queueing_waiters(self, key: PoolKey, worker: SandboxWorker) -> None:
        for waiter in self.waiters.get(key, ()):
            if not self._can_queue_behind(key, worker):
                return
            if not waiter.done() and waiter in self.may_queue:
                waiter.set_result(self._lease(key, worker))

    def _reserve(self, app_pk: int) -> bool:
        """Count a worker about to start when the app and the process are under their bounds."""
        if self.per_app.get(app_pk, 0) >= settings.HANGAR_CLOUD_WORKERS_PER_APP:
            # Idle workers of the app's older versions (or variables) make room for the active one.
            self._evict_one_idle(app_pk=app_pk)
        if self.total >= settings.HANGAR_CLOUD_WORKERS_MAX:
            self._evict_one_idle(other_than=app_pk)
        if (
            self.per_app.get(app_pk, 0) < settings.HANGAR_CLOUD_WORKERS_PER_APP
            and self.total < settings.HANGAR_CLOUD_WORKERS_MAX
        ):
            self._count(app_pk, 1)
            return True
        return False

    def _stop_idle_of_app(self, app_pk: int, *, keep: Callable[[PoolKey], bool]) -> None:
        for key in [key for key in self.idle if key[0] == app_pk and not keep(key)]:
            for worker in self.idle.pop(key):
                self._count(app_pk, -1)
                worker.kill()

    async def _acquire(self, key: PoolKey, start: Starter, *, pipeline: bool = False) -> SandboxWorker:
        deadline = time.monotonic() + settings.HANGAR_CLOUD_POOL_WAIT_SECONDS
        app_pk = key[0]
        if self.current.get(app_pk) != key:
            # A new version or new variables: the old workers are of no further use.
            self.current[app_pk] = key
            self._stop_idle_of_app(app_pk, keep=lambda other: other == key)
        while True:
            worker = self._take_idle(key)
            if worker is not None:
                return self._lease(key, worker, exclusive=not pipeline)
            queueing = pipeline and not self.waiters.get(key)
            if queueing and (worker := self._busy_worker_to_queue_behind(key, short_only=True)) is not None:
                return self._lease(key, worker)  # short invocations: cheaper queued than on another process
            if self._reserve(app_pk):
                break
            if queueing and (worker := self._busy_worker_to_queue_behind(key)) is not None:
                return self._lease(key, worker)  # at the app's bound: queued rather than waiting
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise pool_busy_error()
            handed = await self._wait(key, remaining, pipeline=pipeline)
            if handed is not None:
                return handed
        self._ensure_reaper()
        try:
            return self._lease(key, await start(), exclusive=not pipeline)
        except BaseException:
            self._count(key[0], -1)
            self._wake_all()
            raise

    async def _wait(self, key: PoolKey, timeout: float, *, pipeline: bool = False) -> SandboxWorker | None:
        """Wait for a worker handed over (returned, leased) or for a change worth looking again at (None)."""
        waiter: asyncio.Future[SandboxWorker | None] = asyncio.get_running_loop().create_future()
        queue = self.waiters.setdefault(key, deque())
        queue.append(waiter)
        if pipeline:
            self.may_queue.add(waiter)
        try:
            async with asyncio.timeout(timeout):
                await waiter
        except TimeoutError:
            pass  # a worker handed over as the time ran out is still this request's (below)
        except BaseException:
            # The request was cancelled (its client went away): a worker handed over meanwhile goes on.
            handed = self._forget(key, queue, waiter)
            if handed is not None:
                self._release(key, handed)
            raise
        return self._forget(key, queue, waiter)

    def _forget(
        self, key: PoolKey, queue: deque[asyncio.Future[SandboxWorker | None]],
        waiter: asyncio.Future[SandboxWorker | None],
    ) -> SandboxWorker | None:  # fmt: skip
        """Take ``waiter`` off its queue; the worker it was handed, if any."""
        self.may_queue.discard(waiter)
        if not waiter.done():
            waiter.cancel()
        with contextlib.suppress(ValueError):
            queue.remove(waiter)
        if not queue and self.waiters.get(key) is queue:
            del self.waiters[key]
        return None if waiter.cancelled() else waiter.result()

    def _release(self, key: PoolKey, worker: SandboxWorker) -> None:
        worker.leases -= 1
        if worker.leases > 0:
            self._hand_to_queueing_waiters(key, worker)  # room in its queue
            return
        worker.exclusive = False
        with contextlib.suppress(ValueError):
            self.busy.get(key, []).remove(worker)
        if not self.busy.get(key, True):
            del self.busy[key]
        retire = (
            worker.broken
            or worker.process.returncode is not None
            or self._worn_out(worker)
            or self.current.get(key[0], key) != key
        )
        if retire:
            self._count(key[0], -1)
            worker.kill()
            self._wake_all()  # room for a new worker, of this app or another
            return
        for waiter in self.waiters.get(key, ()):
            if not waiter.done():
                may_queue = waiter in self.may_queue
                waiter.set_result(self._lease(key, worker, exclusive=not may_queue))
                if may_queue:
                    self._hand_to_queueing_waiters(key, worker)
                return
        self.idle.setdefault(key, []).append(worker)
        self._wake_all()  # a waiter of another app may evict it

    def _wake_all(self) -> None:
        for queue in self.waiters.values():
            for waiter in queue:
                if not waiter.done():
                    waiter.set_result(None)

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
        for app_pk in [pk for pk, known in self.application_ids.items() if known == application_id]:
            active = await _active_version_id(app_pk)
            current = self.current.get(app_pk)
            if current is not None and current[1] != active:
                # Busy workers of the old version are retired when released (the key no longer matches).
                self.current[app_pk] = (app_pk, active or 0, "")
            self._stop_idle_of_app(app_pk, keep=lambda key, active=active: key[1] == active)  # type: ignore[misc]
            self._wake_all()

    async def _reap_idle(self) -> None:
        period = max(0.25, settings.HANGAR_CLOUD_WORKER_IDLE_SECONDS / 4)
        while self.total:
            await asyncio.sleep(period)
            cutoff = time.monotonic() - settings.HANGAR_CLOUD_WORKER_IDLE_SECONDS
            for key, workers in list(self.idle.items()):
                for worker in [w for w in workers if w.last_used < cutoff or w.broken]:
                    workers.remove(worker)
                    self._count(key[0], -1)
                    worker.kill()
            self._wake_all()

    async def drop_version(self, keep: Callable[[PoolKey], bool]) -> None:
        """Stop the idle workers whose key is no longer wanted (an app's old version)."""
        for key in [key for key in self.idle if not keep(key)]:
            for worker in self.idle.pop(key):
                self._count(key[0], -1)
                worker.kill()
        self._wake_all()

    async def close(self) -> None:
        idle, self.idle = self.idle, {}
        for key, workers in idle.items():
            for worker in workers:
                self._count(key[0], -1)
                await worker.stop()
        for task in (self.reaper, self.watcher):
            if task is not None:
                task.cancel()


async def _active_version_id(app_pk: int) -> int | None:
    """The app's active version, read on the data plane's pool (the server loop never waits on the ORM)."""
    row = await app_read(
        app_pk,
        lambda conn: conn.fetch_one("SELECT version_id FROM cloudcode_cloudactivation WHERE app_id = %s", [app_pk]),
    )
    return int(row[0]) if row is not None else None


def _runs_short(worker: SandboxWorker) -> bool:
    """Its invocations typically end within HANGAR_CLOUD_PIPELINE_SHORT_MS: waiting costs less than a wake-up."""
    typical = worker.typical_run_ms
    return typical is not None and typical < settings.HANGAR_CLOUD_PIPELINE_SHORT_MS


_pools: LoopLocal[WorkerPool] = LoopLocal()


def pool_sizes() -> tuple[int, int]:
    """(idle, busy) sandbox workers of this event loop's pool (metrics); (0, 0) when it has none."""
    pool = _pools.get()
    if pool is None:
        return 0, 0
    idle = sum(len(workers) for workers in pool.idle.values())
    return idle, max(0, pool.total - idle)


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
