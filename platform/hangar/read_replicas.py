"""Read replicas for the data plane (``DATABASE_REPLICA_URLS``), with read-your-writes.

Which reads: a find or a get of ``/classes`` made with a client key (the master key always
reads the primary, as do writes, the schema registry, sessions and roles, which fill
per-process caches that must never hold an older version than the primary's). The gateway
marks such a request (``replica_reads``); ``hangar.datastore.connection.app_read`` asks
``replica_pool_for`` for a pool and falls back to the primary when it gets none, or when
the replica fails under it.

Which replica: each process checks every replica's replay position
(``pg_last_wal_replay_lsn()``) and the primary's write position (``pg_current_wal_lsn()``)
every ``CHECK_SECONDS``, with no round trip on the request path. A replica may serve a
read once it has replayed what the primary had written ``HANGAR_REPLICA_MAX_LAG_SECONDS``
ago: an idle primary's replica is never "behind", and one whose replay stalled stops
serving after that long. A replica that cannot be reached serves nothing until a check
reaches it again.

Read-your-writes: after a write request, the session's user (or the installation) that
made it has the primary's write position after the write recorded in Redis, for
``HANGAR_READ_YOUR_WRITES_SECONDS``; its reads go to a replica only once that replica has
replayed past it (so usually within milliseconds), else to the primary. Anonymous clients
(no session, no installation id) have no identity to remember a write by: they may read
a replica up to the lag bound behind their own write.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from hangar.caller import Caller
from hangar.db_pool import DataPlanePool, data_plane_conninfo, get_pool
from hangar.loop_local import LoopLocal
from hangar.redis_async import get_redis

log = logging.getLogger(__name__)

CHECK_SECONDS = 0.25  # how often each process reads every replica's replay position
_LSN_SQL = "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint"
_REPLAY_SQL = "SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0')::bigint"
# Keep the highest position: two writes of one user may finish in either order.
_RECORD_MAX = """
local current = tonumber(redis.call('get', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2])
else redis.call('pexpire', KEYS[1], ARGV[2]) end
return 1
"""


@dataclass(frozen=True)
class ReadRoute:
    """A read that may go to a replica that has replayed at least ``min_lsn`` (the reader's last write)."""

    min_lsn: int = 0


_route: ContextVar[ReadRoute | None] = ContextVar("hangar_read_route", default=None)


def replicas_configured() -> bool:
    return bool(settings.HANGAR_REPLICA_DATABASES)


def writer_of(caller: Caller) -> str | None:
    """Whom a write is remembered by for read-your-writes: the session's user, else the installation."""
    if caller.is_master:
        return None
    if caller.user_id:
        return f"u:{caller.user_id}"
    if caller.installation_id:
        return f"i:{caller.installation_id}"
    return None


def _write_key(app_pk: int, writer: str) -> str:
    return f"hangar:ryw:{int(app_pk)}:{writer}"


async def read_route_for(caller: Caller) -> ReadRoute:
    """The route of a client's read: after its own recent write, only a replica that has replayed it."""
    writer = writer_of(caller)
    if writer is None:
        return ReadRoute()
    recorded = await get_redis().get(_write_key(caller.app_pk, writer))
    return ReadRoute(min_lsn=int(recorded) if recorded else 0)


@contextmanager
def replica_reads(route: ReadRoute) -> Iterator[None]:
    """Let the unbound reads inside the block go to a replica that satisfies ``route``."""
    token = _route.set(route)
    try:
        yield
    finally:
        _route.reset(token)


def current_route() -> ReadRoute | None:
    return _route.get()


async def write_recorded(caller: Caller) -> None:
    """After a client's write request: its reads stay on the primary until a replica has replayed it.

    The write has happened whatever becomes of this: a failure here is logged, never answered
    (a client told 503 might send the write again). The writer may then read a replica up to
    the lag bound behind its write, as an anonymous client does.
    """
    writer = writer_of(caller)
    if writer is None:
        return
    try:
        pool = await get_pool()
        async with pool.connection() as conn:
            row = await conn.fetch_one(_LSN_SQL)
        if row is None:
            return
        expire_ms = int(settings.HANGAR_READ_YOUR_WRITES_SECONDS * 1000)
        await get_redis().eval(_RECORD_MAX, 1, _write_key(caller.app_pk, writer), int(row[0]), expire_ms)
    except Exception:
        log.warning("could not record a write for read-your-writes; its writer may read a lagging replica",
                    exc_info=True)  # fmt: skip


class Replica:
    """One replica's pool and what the last check saw of it."""

    def __init__(self, database: Mapping[str, Any]) -> None:
        self.name = f"{database.get('HOST') or 'local'}:{database.get('PORT') or 5432}/{database.get('NAME')}"
        self.pool = DataPlanePool(
            data_plane_conninfo(database),
            min_size=0,
            max_size=settings.HANGAR_DB_POOL_MAX,
            timeout=settings.HANGAR_DB_POOL_TIMEOUT_SECONDS,
            deadline=settings.HANGAR_DB_REQUEST_DEADLINE_SECONDS,
        )
        self.replayed: int | None = None  # bytes of WAL replayed; None: unreachable, or not a standby

    def lost(self) -> None:
        """A read on it failed: serve nothing from it until a check reaches it again."""
        if self.replayed is not None:
            log.warning("read replica %s failed; reads go to the primary until it answers again", self.name)
        self.replayed = None


class ReplicaSet:
    """The replicas of one event loop, and a task that checks them."""

    def __init__(self, databases: Sequence[Mapping[str, Any]]) -> None:
        self.replicas = [Replica(database) for database in databases]
        self._primary_positions: deque[tuple[float, int]] = deque()  # (time.monotonic(), primary's LSN)
        self._turn = itertools.count()
        self._checker: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._checker = asyncio.get_running_loop().create_task(self._check_forever())

    async def close(self) -> None:
        if self._checker is not None:
            self._checker.cancel()
            try:
                await self._checker
            except asyncio.CancelledError:
                pass
        for replica in self.replicas:
            await replica.pool.close()

    async def _check_forever(self) -> None:
        while True:
            await self.check()
            await asyncio.sleep(CHECK_SECONDS)

    async def check(self) -> None:
        """Read the primary's write position and each replica's replay position (each bounded by its pool)."""
        try:
            pool = await get_pool()
            async with pool.connection() as conn:
                row = await conn.fetch_one(_LSN_SQL)
            if row is not None:
                self._remember_primary(time.monotonic(), int(row[0]))
        except Exception:  # the primary's outage is the request path's to report; replicas are checked anyway
            log.debug("read replicas: the primary's position could not be read", exc_info=True)
        await asyncio.gather(*(self._check_replica(replica) for replica in self.replicas))

    async def _check_replica(self, replica: Replica) -> None:
        was_serving = replica.replayed is not None
        try:
            async with replica.pool.connection() as conn:
                row = await conn.fetch_one(_REPLAY_SQL)
        except Exception as exc:
            if was_serving:
                log.warning("read replica %s is unreachable (%s); reads go to the primary", replica.name, exc)
            replica.replayed = None
            return
        replica.replayed = None if row is None or row[0] is None else int(row[0])
        if replica.replayed is None and was_serving:
            log.warning("read replica %s is not replaying (promoted?); it serves no reads", replica.name)

    def _remember_primary(self, now: float, position: int) -> None:
        self._primary_positions.append((now, position))
        horizon = now - settings.HANGAR_REPLICA_MAX_LAG_SECONDS
        # Keep one position at least as old as the lag bound: it is the bound.
        while len(self._primary_positions) > 1 and self._primary_positions[1][0] <= horizon:
            self._primary_positions.popleft()

    def lag_floor(self) -> int | None:
        """What a replica must have replayed to be within the lag bound; None before the first check."""
        if not self._primary_positions:
            return None
        horizon = time.monotonic() - settings.HANGAR_REPLICA_MAX_LAG_SECONDS
        floor = self._primary_positions[0][1]  # younger than the bound only in a process's first seconds
        for seen_at, position in self._primary_positions:
            if seen_at > horizon:
                break
            floor = position
        return floor

    def pick(self, route: ReadRoute) -> Replica | None:
        floor = self.lag_floor()
        if floor is None:
            return None
        needed = max(floor, route.min_lsn)
        usable = [r for r in self.replicas if r.replayed is not None and r.replayed >= needed]
        if not usable:
            return None
        return usable[next(self._turn) % len(usable)]


_sets: LoopLocal[ReplicaSet] = LoopLocal()


def replica_set() -> ReplicaSet | None:
    """This loop's replicas, checked from now on; None when none are configured."""
    if not replicas_configured():
        return None
    replicas = _sets.get()
    if replicas is None:
        replicas = ReplicaSet(settings.HANGAR_REPLICA_DATABASES)
        _sets.set(replicas)
        replicas.start()
    return replicas


def replica_for_this_read() -> Replica | None:
    """The replica the current unbound read may use, if the request allows one and one is fresh enough."""
    route = _route.get()
    if route is None:
        return None
    replicas = replica_set()
    return replicas.pick(route) if replicas is not None else None


async def close_replicas() -> None:
    replicas = _sets.pop()
    if replicas is not None:
        await replicas.close()
