"""The data plane's async PostgreSQL connection pool (psycopg 3).

One pool per event loop: a server process has one loop, so one pool; the test suite
may run several loops and each gets its own. Connection parameters come from
Django's DATABASES so the data plane and the ORM always talk to the same database
(including the test database pytest-django creates).

Why not psycopg_pool: every request checks a connection out and back in, and under
load most requests wait for one (32 requests in flight per process, 10 connections).
psycopg_pool's checkout takes an asyncio lock and, when it must wait, an
``asyncio.wait_for`` (a Task per waiter) and a condition variable; measured in-process
that was a tenth of a query's Python CPU. The data plane needs much less: one event
loop, no threads, no background maintenance. Here a checkout is a ``deque.pop()`` when
a connection is idle, and a future (with a timer, not a task) when none is; a return
hands the connection straight to the oldest waiter. A connection that comes back broken
or inside a transaction is closed and replaced, so one failed statement never poisons
the pool.

A connection can also die while it sits idle: a PostgreSQL restart, a failover or an
administrator's ``pg_terminate_backend`` closes its socket, and the next request on it
would fail. So a connection that has been idle for a while is checked before it is handed
out, without a round trip: the server announces such an end by writing to the socket, so
an idle socket that has become readable is discarded (``_died_while_idle``). Opening a
connection has a deadline of its own (``HANGAR_DB_CONNECT_TIMEOUT_SECONDS``), so a server
that does not answer cannot hold a request for longer than that.

The server's ``statement_timeout`` bounds a statement only while the server runs: a frozen
or partitioned server never sends the error. So every checkout also has a client-side
deadline (``HANGAR_DB_REQUEST_DEADLINE_SECONDS``, a little above the statement timeout),
from the moment it asks for a connection to the moment it gives it back; see ``_Checkout``.
"""

from __future__ import annotations

import asyncio
import logging
import select
import time
from collections import deque
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, cast

import orjson
from django.conf import settings
from psycopg import AsyncConnection, AsyncCursor, OperationalError, pq
from psycopg.conninfo import make_conninfo
from psycopg.types.json import set_json_dumps, set_json_loads

from hangar.loop_local import LoopLocal

log = logging.getLogger(__name__)


class PoolTimeout(Exception):
    """No connection became free within the pool's timeout."""


class DeadlineExceededError(Exception):
    """A unit of data-plane work outlived its deadline: it was stopped and its connection closed.

    Whether a write in it committed is unknown (its COMMIT may have been on the wire), so
    nothing runs it again: the client hears 503 and decides.
    """


def data_plane_conninfo(database: Mapping[str, Any] | None = None) -> str:
    """Connection string of the data plane's primary, or of ``database`` (a replica) in the same shape."""
    db = database or settings.HANGAR_DATA_PLANE_DATABASE or settings.DATABASES["default"]
    params: dict[str, Any] = {
        "dbname": db["NAME"],
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
        "host": db.get("HOST") or None,
        "port": db.get("PORT") or None,
        "application_name": "hangar-dataplane",
    }
    params.update(cast("dict[str, Any]", db.get("OPTIONS") or {}))  # connect_timeout included (hangar.settings)
    return make_conninfo(**{k: v for k, v in params.items() if v is not None})


DATA_PLANE_ROLE = "hangar_dataplane"


class PoolerMisconfiguredError(OperationalError):
    """The transaction pooler's data-plane database does not set the session the data plane needs."""


async def _configure(conn: AsyncConnection) -> None:
    # orjson reads jsonb faster than the json module, and reads numbers beyond 64 bits
    # (which PostgreSQL prints as long integers, e.g. 1e20) as floats, as JavaScript does;
    # Python ints of that size could not be written back out by the response encoder.
    set_json_loads(orjson.loads, conn)
    set_json_dumps(orjson.dumps, conn)
    if settings.HANGAR_DB_TRANSACTION_POOLER:
        await _check_pooler_session(conn)
        return
    # Row-level security binds this role (superusers and table owners bypass it), so the
    # data plane's queries only ever see the app its transaction names.
    await conn.execute(f"SET ROLE {DATA_PLANE_ROLE}")
    # Every data-plane statement is bounded (a pathological $regex ends with error 124).
    await conn.execute(f"SET statement_timeout = {int(settings.HANGAR_STATEMENT_TIMEOUT_MS)}")
    # Defence in depth: a transaction no code is driving any more (a block that leaked its
    # connection) would hold its locks until the process ends; the server ends it instead.
    await conn.execute(
        f"SET idle_in_transaction_session_timeout = {int(settings.HANGAR_IDLE_IN_TRANSACTION_TIMEOUT_MS)}"
    )
    # Timestamps then arrive in UTC, which is what the wire format needs (no conversion per value).
    await conn.execute("SET TIME ZONE 'UTC'")


def pooler_session_sql() -> str:
    """What the pooler's data-plane database runs on each server connection (its ``connect_query``).

    A SET on a client connection of a transaction pooler lands on whichever server connection
    that statement happened to get, and the next statement may run on another one: the role
    (row-level security), the timeout and the time zone must be set by the pooler itself.
    """
    return (
        f"SET ROLE {DATA_PLANE_ROLE}; SET statement_timeout = {int(settings.HANGAR_STATEMENT_TIMEOUT_MS)}; "
        "SET TIME ZONE UTC"  # no quotes: the statement sits in a quoted value of pgbouncer.ini
    )


async def _check_pooler_session(conn: AsyncConnection) -> None:
    """Refuse a pooled data-plane connection whose server session is not the data plane's.

    Fail closed: a server connection left as the login role would bypass row-level security.
    """
    cursor = await conn.execute(
        "SELECT current_user, current_setting('statement_timeout'),"
        " current_setting('statement_timeout')::interval = %s * interval '1 millisecond',"
        " current_setting('TimeZone')",
        [int(settings.HANGAR_STATEMENT_TIMEOUT_MS)],
    )
    row = await cursor.fetchone()
    if row is None or row[0] != DATA_PLANE_ROLE or not row[2] or row[3] != "UTC":
        await conn.close()
        raise PoolerMisconfiguredError(
            f"the data-plane pooler database runs as {row and row[0]!r} with statement_timeout {row and row[1]!r} "
            f"and TimeZone {row and row[3]!r}; its connect_query must be: {pooler_session_sql()}"
        )


class DataPlaneConnection(AsyncConnection[tuple[Any, ...]]):
    """A pooled connection whose one-statement helpers reuse a single cursor.

    ``conn.execute()`` builds a cursor (and its adapters) per statement; reusing one
    saved 12-20 us of CPU a statement, measured. The helpers return rows, never the
    cursor, so no caller can hold a result that the next statement replaces.
    """

    _statement_cursor: AsyncCursor[tuple[Any, ...]] | None = None
    idle_since: float = 0.0  # time.monotonic() of its return to the pool

    def _reused_cursor(self) -> AsyncCursor[tuple[Any, ...]]:
        cursor = self._statement_cursor
        if cursor is None or cursor.closed:
            cursor = self._statement_cursor = self.cursor()
        return cursor

    async def run(self, query: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> None:
        await self._reused_cursor().execute(query, params)  # type: ignore[arg-type]

    async def fetch_one(
        self, query: str, params: Sequence[Any] | Mapping[str, Any] | None = None
    ) -> tuple[Any, ...] | None:
        cursor = self._reused_cursor()
        await cursor.execute(query, params)  # type: ignore[arg-type]
        return await cursor.fetchone()

    async def fetch_all(
        self, query: str, params: Sequence[Any] | Mapping[str, Any] | None = None
    ) -> list[tuple[Any, ...]]:
        cursor = self._reused_cursor()
        await cursor.execute(query, params)  # type: ignore[arg-type]
        return await cursor.fetchall()


class DataPlanePool:
    """Autocommit connections for one event loop, at most ``max_size`` of them."""

    def __init__(self, conninfo: str, *, min_size: int, max_size: int, timeout: float, deadline: float) -> None:
        self._conninfo = conninfo
        self._min_size = min_size
        self._max_size = max(1, max_size)
        self._timeout = timeout
        self.deadline = deadline  # seconds a checkout may last, waiting for its connection included
        self._idle: deque[DataPlaneConnection] = deque()
        self._waiters: deque[asyncio.Future[DataPlaneConnection]] = deque()
        self._size = 0  # connections open or being opened
        self._background: set[asyncio.Task[None]] = set()
        self._closed = False
        # Open checkouts, checked against their deadlines by one timer for the whole pool: a timer
        # per checkout (and the coroutine to settle it) doubled the cost of a checkout, measured.
        self._checkouts: set[_Checkout] = set()
        self._sweeper: asyncio.TimerHandle | None = None
        self._loop = asyncio.get_running_loop()  # one pool per loop (get_pool)

    async def open(self) -> None:
        connections = await asyncio.gather(*(self._connect() for _ in range(min(self._min_size, self._max_size))))
        self._idle.extend(connections)

    async def _connect(self) -> DataPlaneConnection:
        self._size += 1
        try:
            # Behind a transaction pooler a statement prepared on one server connection is unknown
            # to the next: psycopg then prepares nothing (PgBouncer 1.18, Debian 12's, cannot map them).
            conn = await DataPlaneConnection.connect(
                self._conninfo,
                autocommit=True,
                prepare_threshold=None if settings.HANGAR_DB_TRANSACTION_POOLER else PREPARE_THRESHOLD,
            )
            # psycopg keeps 100 by default, fewer than one statement per app under traffic spread
            # over 100 apps: a least-recently-used cache then misses every time, and each request
            # pays parsing and planning on PostgreSQL (4x its CPU per request, bench/density.py).
            conn.prepared_max = settings.HANGAR_DB_PREPARED_STATEMENTS
            await _configure(conn)
        except BaseException:
            self._size -= 1
            raise
        return conn

    def connection(self) -> _Checkout:
        """``async with pool.connection() as conn``: a connection for the block, returned after it.

        The block is stopped if it outlasts the pool's deadline (``DeadlineExceededError``).
        """
        return _Checkout(self)

    async def acquire(self) -> DataPlaneConnection:
        if self._closed:
            raise PoolTimeout("the data plane pool is closed")
        while self._idle:
            conn = self._idle.pop()  # the most recently used: its backend is warm
            if time.monotonic() - conn.idle_since < IDLE_CHECK_AFTER_SECONDS or not _died_while_idle(conn):
                return conn
            log.warning("discarded a data plane connection that was closed while idle")
            self._discard(conn)
        if self._size < self._max_size:
            return await self._connect()
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[DataPlaneConnection] = loop.create_future()
        self._waiters.append(waiter)
        timer = loop.call_later(self._timeout, _expire, waiter, self._timeout)
        try:
            return await waiter
        except asyncio.CancelledError:
            # Handed a connection in the same turn as the cancellation: give it back.
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self.release(waiter.result())
            raise
        finally:
            timer.cancel()

    def release(self, conn: DataPlaneConnection) -> None:
        if conn.closed or conn.pgconn.transaction_status != pq.TransactionStatus.IDLE or self._closed:
            # Broken, or left inside a transaction by a failure: never hand it on. A connection the
            # server dropped makes the idle ones opened before it as suspect (a restart drops all).
            if conn.broken:
                self.discard_idle()
            self._discard(conn)
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        conn.idle_since = time.monotonic()
        self._idle.append(conn)

    def discard(self, conn: DataPlaneConnection) -> None:
        """Close a checked-out connection instead of returning it: its state is unknown."""
        self._discard(conn)

    def discard_idle(self) -> None:
        """Close every idle connection: after one was lost (a restart, a failover), the others
        opened before it are as suspect, and a fresh connection costs one connect."""
        idle, self._idle = list(self._idle), deque()
        for conn in idle:
            self._discard(conn)

    def _discard(self, conn: DataPlaneConnection) -> None:
        self._size -= 1
        self._in_background(_close_quietly(conn))
        if self._waiters and not self._closed:
            self._in_background(self._replace())

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)  # the loop keeps only weak references to tasks
        task.add_done_callback(self._background.discard)

    async def _replace(self) -> None:
        """Open a connection for the oldest waiter in place of a discarded one."""
        try:
            conn = await self._connect()
        except Exception as exc:  # the waiter hears of it instead of timing out
            while self._waiters:
                waiter = self._waiters.popleft()
                if not waiter.done():
                    waiter.set_exception(exc)
                    return
            return
        self.release(conn)

    def watch(self, checkout: _Checkout) -> asyncio.Task[Any] | None:
        """Hold ``checkout`` to the pool's deadline from now until ``unwatch``; return the task it runs in."""
        checkout.expires = time.monotonic() + self.deadline
        self._checkouts.add(checkout)
        if self._sweeper is None:
            self._sweeper = self._loop.call_later(DEADLINE_CHECK_SECONDS, self._sweep)
        return asyncio.current_task(self._loop)

    def unwatch(self, checkout: _Checkout) -> None:
        self._checkouts.discard(checkout)

    def _sweep(self) -> None:
        now = time.monotonic()
        for checkout in [checkout for checkout in self._checkouts if checkout.expires <= now]:
            checkout.expire(now)
        self._sweeper = self._loop.call_later(DEADLINE_CHECK_SECONDS, self._sweep) if self._checkouts else None

    def abandon(self) -> None:
        """Close the idle connections of a pool whose loop has ended (nothing can be awaited on it)."""
        self._closed = True
        idle, self._idle = list(self._idle), deque()
        self._size -= len(idle)
        for conn in idle:
            conn.pgconn.finish()

    async def close(self) -> None:
        self._closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(PoolTimeout("the data plane pool was closed"))
        self._waiters.clear()
        idle, self._idle = list(self._idle), deque()
        self._size -= len(idle)
        for conn in idle:
            await _close_quietly(conn)


class _Checkout:
    """A connection for one ``async with`` block, which must end within the pool's deadline.

    When the deadline passes (checked every ``DEADLINE_CHECK_SECONDS``), the block's task is
    cancelled. psycopg answers a cancellation that arrives during a statement by asking the
    server to cancel it (``cancel_safe``) and waiting for the statement to end, which on a
    live server takes a round trip; but it gives a server that does not answer 5 s for the
    cancel and 5 s more for the statement (psycopg 3.3, ``AsyncConnection.wait``). So if
    the block is still running ``CANCEL_GRACE_SECONDS`` later, it is cancelled again:
    psycopg then closes the connection at once. Either way the connection is discarded,
    never handed to another request, and the block ends with ``DeadlineExceededError``
    (an outage: 503 with Retry-After).
    https://www.psycopg.org/psycopg3/docs/advanced/async.html#interrupting-async-operations
    """

    __slots__ = ("_cancels", "_conn", "_pool", "_task", "expires")

    def __init__(self, pool: DataPlanePool) -> None:
        self._pool = pool
        self._conn: DataPlaneConnection | None = None
        self._task: asyncio.Task[Any] | None = None
        self._cancels = 0
        self.expires = 0.0  # time.monotonic() of the next cancellation (the pool's deadline check sets it)

    async def __aenter__(self) -> DataPlaneConnection:
        self._task = self._pool.watch(self)
        try:
            self._conn = await self._pool.acquire()
        except BaseException as exc:
            self._pool.unwatch(self)
            if self._cancels:
                await self._settle(exc)
            raise
        return self._conn

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            if self._cancels:
                self._pool.discard(conn)  # a statement may have been cut short: its state is unknown
            else:
                self._pool.release(conn)
        self._pool.unwatch(self)
        if self._cancels:
            await self._settle(exc)

    def expire(self, now: float) -> None:
        """The deadline (or, after it, the grace) has passed: cancel the block's task."""
        self.expires = now + CANCEL_GRACE_SECONDS if self._cancels == 0 else float("inf")
        if self._task is not None:  # always, under asyncio; never raise in the pool's deadline check
            self._cancels += 1
            self._task.cancel()

    async def _settle(self, exc: BaseException | None) -> None:
        """After a block the deadline cancelled: take back its cancellations, and say why it ended."""
        task, cancels, self._cancels = self._task, self._cancels, 0
        assert task is not None
        for _ in range(cancels):
            task.uncancel()
        if not isinstance(exc, asyncio.CancelledError):
            # The block ended on its own in the same turn as the deadline: the cancellation is
            # still pending, and is taken here rather than by whatever the task awaits next.
            try:
                await asyncio.sleep(0)
            except asyncio.CancelledError:
                if task.cancelling():
                    raise
        if exc is None or task.cancelling():
            return  # the block's work was done; or the task was also cancelled by someone else
        # Logged where it is answered (hangar.outages, rate-limited): a frozen server fails every request.
        raise DeadlineExceededError(f"the database did not answer within {self._pool.deadline:g} s") from exc


# psycopg's own default: a statement run this many times on a connection is prepared on the server.
PREPARE_THRESHOLD = 5

# How long psycopg may wait for the server to act on the deadline's cancel before the connection is closed.
CANCEL_GRACE_SECONDS = 0.5
# How often open checkouts are checked against their deadlines (so a deadline fires up to this late).
DEADLINE_CHECK_SECONDS = 0.1


# Connections back in the pool for less than this are handed out unchecked: under load
# they were in use a moment ago, and the check (a poll of the socket) is then pure cost.
IDLE_CHECK_AFTER_SECONDS = 1.0


def _died_while_idle(conn: DataPlaneConnection) -> bool:
    """Whether the server ended this idle connection (restart, terminate); no round trip."""
    pgconn = conn.pgconn
    if conn.closed or pgconn.status != pq.ConnStatus.OK:
        return True
    try:
        readable, _, _ = select.select([pgconn.socket], [], [], 0)
    except (OSError, OperationalError, ValueError):
        return True
    # Nothing is sent to an idle connection of ours (no LISTEN, no query in flight) but the
    # server's goodbye, which may arrive ahead of the end of file: anything readable means
    # the connection is not as it was left, and a fresh one costs one connect.
    return bool(readable)


def _expire(waiter: asyncio.Future[DataPlaneConnection], timeout: float) -> None:
    if not waiter.done():
        waiter.set_exception(PoolTimeout(f"no database connection became free within {timeout:g} s"))


async def _close_quietly(conn: AsyncConnection) -> None:
    try:
        await conn.close()
    except Exception:  # already broken: nothing more to release
        log.debug("closing a discarded data plane connection failed", exc_info=True)


_pools: LoopLocal[DataPlanePool] = LoopLocal()


@dataclass(frozen=True)
class PoolStats:
    in_use: int
    idle: int
    waiting: int


def pool_stats() -> PoolStats:
    """This event loop's pool: connections checked out, idle, and requests waiting for one (metrics)."""
    pool = _pools.get()
    if pool is None:
        return PoolStats(0, 0, 0)
    idle = len(pool._idle)
    return PoolStats(in_use=pool._size - idle, idle=idle, waiting=sum(1 for w in pool._waiters if not w.done()))


async def get_pool() -> DataPlanePool:
    pool = _pools.get()
    if pool is None:
        pools_of_ended_loops_close()
        pool = DataPlanePool(
            data_plane_conninfo(),
            min_size=settings.HANGAR_DB_POOL_MIN,
            max_size=settings.HANGAR_DB_POOL_MAX,
            timeout=settings.HANGAR_DB_POOL_TIMEOUT_SECONDS,
            deadline=settings.HANGAR_DB_REQUEST_DEADLINE_SECONDS,
        )
        _pools.set(pool)
        await pool.open()
    return pool


def pools_of_ended_loops_close() -> None:
    """Close the connections of pools whose loop has ended.

    Sync code runs async services on loops of its own (async_to_sync outside a server's loop:
    the identity pages under a sync test client, a management command); such a loop ends
    without closing its pool, whose connections would otherwise stay open for good.
    """
    for abandoned in _pools.drop_closed():
        abandoned.abandon()


async def close_pool() -> None:
    pool = _pools.pop()
    if pool is not None:
        await pool.close()
