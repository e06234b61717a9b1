"""The data plane's units of work on one app's data.

``app_statement`` is the hot path: one autocommit statement on a pooled connection.
Such statements name the app's own partitions (hangar.datastore.partitions), which can
only hold that app's rows: reads cannot see another app, and a write carrying another
app's id fails the partition constraint. One statement, one round trip.

``app_transaction`` is for everything that touches a shared table (the schema registry,
config) or needs several statements to be atomic: it sets ``hangar.app_id`` for the
transaction, so row-level security (migration 0004) shows only that app's rows, and a
statement that forgot its app filter still cannot reach another app (on a connection
where no app is set, the shared tables look empty).

The statement timeout is a connection setting (hangar.db_pool), so every statement is
bounded without extra round trips.

A transactional ``/batch`` opens ``batch_transaction`` first: every unit of work inside
it becomes a savepoint of that one transaction, and work registered with
``after_commit`` (LiveQuery events, cache invalidation, afterSave hooks) waits until the
whole batch has committed, and is dropped if it rolls back. Outside a batch,
``app_transaction`` keeps its own list the same way: work registered inside its block
runs once that transaction has committed, and never if it rolled back. An
``app_statement`` commits each statement at once, so work registered there (or outside
any unit) runs immediately.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from contextvars import ContextVar
from typing import TypeVar

from psycopg import OperationalError
from psycopg.errors import DataError, InvalidRegularExpression, ProgramLimitExceeded, QueryCanceled

from hangar.db_pool import DataPlaneConnection, DeadlineExceededError, PoolTimeout, get_pool
from hangar.parse_errors import INVALID_QUERY, OBJECT_TOO_LARGE, TIMEOUT, ParseError
from hangar.read_replicas import replica_for_this_read

AfterCommit = Callable[[], Awaitable[None]]
T = TypeVar("T")
Ambient = tuple[int, DataPlaneConnection, list[AfterCommit]]  # the bound app, its connection, work after commit
log = logging.getLogger(__name__)
_ambient: ContextVar[Ambient | None] = ContextVar("hangar_batch", default=None)
# Work waiting for the innermost open ``app_transaction`` (outside a batch) to commit.
_transaction_work: ContextVar[list[AfterCommit] | None] = ContextVar("hangar_transaction_work", default=None)


def _data_error(exc: DataError) -> ParseError:
    """Input PostgreSQL rejected while running the statement (a bad regex, a value of the wrong shape).

    PostgreSQL's own words stay in the log: they name tables, columns and types of the
    data plane, which are no client's business.
    """
    log.info("statement rejected by PostgreSQL (%s): %s", exc.sqlstate, exc.diag.message_primary)
    if isinstance(exc, InvalidRegularExpression):
        return ParseError(INVALID_QUERY, "Invalid regular expression in the query.")
    return ParseError(INVALID_QUERY, "Invalid value in the query.")


@asynccontextmanager
async def _translated_errors() -> AsyncIterator[None]:
    try:
        yield
    except QueryCanceled as exc:
        raise ParseError(TIMEOUT, "The query took too long and was cancelled.") from exc
    except DataError as exc:
        raise _data_error(exc) from exc
    except ProgramLimitExceeded as exc:
        # A value beyond what an index entry can hold (about 2.7 kB after compression), on a
        # field a developer indexed: the client's value is at fault, not the server.
        log.info("statement exceeded a PostgreSQL limit: %s", exc.diag.message_primary)
        raise ParseError(OBJECT_TOO_LARGE, "A value is too large to be stored or indexed.") from exc


async def _bind(conn: DataPlaneConnection, app_pk: int) -> None:
    await conn.run("SELECT set_config('hangar.app_id', %s, true)", [str(int(app_pk))])


@asynccontextmanager
async def _ambient_savepoint(app_pk: int) -> AsyncIterator[DataPlaneConnection]:
    ambient = _ambient.get()
    assert ambient is not None
    bound_app, conn, _ = ambient
    if bound_app != app_pk:
        raise RuntimeError("a batch transaction is bound to another app")
    async with _translated_errors(), conn.transaction():  # a failing item leaves the batch usable
        yield conn


@asynccontextmanager
async def app_statement(app_pk: int) -> AsyncIterator[DataPlaneConnection]:
    """A connection for single statements on the app's partitions (autocommit)."""
    if _ambient.get() is not None:
        async with _ambient_savepoint(app_pk) as conn:
            yield conn
        return
    pool = await get_pool()
    async with _translated_errors(), pool.connection() as conn:
        yield conn


async def app_read(app_pk: int, read: Callable[[DataPlaneConnection], Awaitable[T]], *, bound: bool = False) -> T:
    """Run ``read`` (statements without side effects) on a pooled connection: ``app_statement``, or
    with ``bound`` a transaction bound to the app (shared tables under row-level security).

    An unbound read of a request the gateway let read replicas (hangar.read_replicas) runs on
    a replica that is fresh enough for it, if there is one; else, or if the replica fails, on
    the primary.

    If the connection was lost under it (a server restart, a failover), it runs once more on a
    fresh one. Writes never come here: whether a lost write committed is unknown, so it is never
    repeated blindly (the client gets a 503 and decides).
    """
    unit = app_transaction if bound else app_statement
    if not bound and _ambient.get() is None:
        replica = replica_for_this_read()
        if replica is not None:
            try:
                async with _translated_errors(), replica.pool.connection() as conn:
                    return await read(conn)
            except (OperationalError, PoolTimeout, DeadlineExceededError) as exc:
                # The primary has everything the replica has: the read runs there instead.
                if isinstance(exc, PoolTimeout | DeadlineExceededError) or _connection_lost(exc):
                    replica.lost()
                log.info("a replica read failed (%s); reading the primary", type(exc).__name__)
    for attempt in (1, 2):
        try:
            async with unit(app_pk) as conn:
                return await read(conn)
        except OperationalError as exc:
            if attempt == 2 or _ambient.get() is not None or not _connection_lost(exc):
                raise
            # The pool has dropped the lost connection and the idle ones opened before it.
            log.warning("a data plane read lost its connection (%s); running it again", type(exc).__name__)
    raise AssertionError("unreachable")


def _connection_lost(exc: OperationalError) -> bool:
    """A broken connection (no SQLSTATE), a connection exception (08xxx) or an operator's shutdown (57P0x)."""
    state = exc.sqlstate
    return state is None or state.startswith(("08", "57P"))


def app_transaction(app_pk: int) -> AbstractAsyncContextManager[DataPlaneConnection]:
    """A transaction bound to the app for row-level security; atomic across its statements."""
    return _bound_transaction(app_pk, pipelined=False)


def app_transaction_pipelined(app_pk: int) -> AbstractAsyncContextManager[DataPlaneConnection]:
    """``app_transaction`` in pipeline mode: BEGIN, the binding and the statements up to the first
    read of a result go to the server together, and the COMMIT is one more round trip."""
    return _bound_transaction(app_pk, pipelined=True)


@asynccontextmanager
async def _bound_transaction(app_pk: int, *, pipelined: bool) -> AsyncIterator[DataPlaneConnection]:
    if _ambient.get() is not None:
        async with _ambient_savepoint(app_pk) as conn:
            yield conn
        return
    pool = await get_pool()
    pending: list[AfterCommit] = []
    token = _transaction_work.set(pending)
    try:
        async with _translated_errors(), pool.connection() as conn:
            async with conn.pipeline() if pipelined else nullcontext(), conn.transaction():
                await _bind(conn, app_pk)
                yield conn
    finally:
        _transaction_work.reset(token)
    await _run_all(pending)  # reached only once the transaction has committed


def in_batch_transaction() -> bool:
    """Whether this task runs inside a transactional ``/batch`` (whose transaction stays open between items)."""
    return _ambient.get() is not None


async def after_commit(work: AfterCommit) -> None:
    """Run ``work`` once the enclosing unit has committed: the batch, else the open ``app_transaction``, else now."""
    ambient = _ambient.get()
    if ambient is not None:
        ambient[2].append(work)
        return
    pending = _transaction_work.get()
    if pending is not None:
        pending.append(work)
        return
    await work()


async def _run_all(pending: list[AfterCommit]) -> None:
    for work in pending:
        await work()


@asynccontextmanager
async def batch_transaction(app_pk: int) -> AsyncIterator[None]:
    """All-or-nothing: everything inside commits together or not at all."""
    pending: list[AfterCommit] = []
    pool = await get_pool()
    async with _translated_errors(), pool.connection() as conn, conn.transaction():
        await _bind(conn, app_pk)
        token = _ambient.set((app_pk, conn, pending))
        try:
            yield
        finally:
            _ambient.reset(token)
    await _run_all(pending)
