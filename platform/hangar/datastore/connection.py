"""The data plane's unit of work: a transaction bound to one app.

Every statement the data plane runs goes through ``app_transaction``: it sets
``hangar.app_id`` for the transaction (row-level security, migration 0004) and a
statement timeout, sending BEGIN, the settings and the statements in one pipeline so
the binding costs no extra network round trip.

A transactional ``/batch`` opens ``batch_transaction`` first: every ``app_transaction``
inside it becomes a savepoint of that one transaction, and work registered with
``after_commit`` (LiveQuery events, cache invalidation, afterSave hooks) waits until
the whole batch has committed, and is dropped if it rolls back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar

from django.conf import settings
from psycopg import AsyncConnection
from psycopg.errors import DataError, InvalidRegularExpression, QueryCanceled

from hangar.db_pool import get_pool
from hangar.parse_errors import ParseError

TIMEOUT = 124
INVALID_QUERY = 102
_SETTINGS_SQL = "SELECT set_config('hangar.app_id', %s, true), set_config('statement_timeout', %s, true)"

AfterCommit = Callable[[], Awaitable[None]]
_ambient: ContextVar[tuple[int, AsyncConnection, list[AfterCommit]] | None] = ContextVar("hangar_batch", default=None)


def _timeout_error() -> ParseError:
    return ParseError(TIMEOUT, "The query took too long and was cancelled.")


def _data_error(exc: DataError) -> ParseError:
    """Input PostgreSQL rejected while running the statement (a bad regex, a value of the wrong shape)."""
    if isinstance(exc, InvalidRegularExpression):
        return ParseError(INVALID_QUERY, f"bad regex: {exc.diag.message_primary or exc}")
    return ParseError(INVALID_QUERY, f"Invalid query: {exc.diag.message_primary or exc}")


@asynccontextmanager
async def _bound_transaction(app_pk: int) -> AsyncIterator[AsyncConnection]:
    pool = await get_pool()
    try:
        async with pool.connection() as conn, conn.pipeline(), conn.transaction():
            await conn.execute(_SETTINGS_SQL, [str(int(app_pk)), str(settings.HANGAR_STATEMENT_TIMEOUT_MS)])
            yield conn
    except QueryCanceled as exc:
        raise _timeout_error() from exc
    except DataError as exc:
        raise _data_error(exc) from exc


@asynccontextmanager
async def app_transaction(app_pk: int) -> AsyncIterator[AsyncConnection]:
    ambient = _ambient.get()
    if ambient is None:
        async with _bound_transaction(app_pk) as conn:
            yield conn
        return
    bound_app, conn, _ = ambient
    if bound_app != app_pk:
        raise RuntimeError("a batch transaction is bound to another app")
    try:
        async with conn.transaction():  # a savepoint: a failing item leaves the batch usable
            yield conn
    except QueryCanceled as exc:
        raise _timeout_error() from exc
    except DataError as exc:
        raise _data_error(exc) from exc


async def after_commit(work: AfterCommit) -> None:
    """Run ``work`` now, or when the enclosing batch transaction commits."""
    ambient = _ambient.get()
    if ambient is None:
        await work()
    else:
        ambient[2].append(work)


@asynccontextmanager
async def batch_transaction(app_pk: int) -> AsyncIterator[None]:
    """All-or-nothing: everything inside commits together or not at all."""
    pending: list[AfterCommit] = []
    async with _bound_transaction(app_pk) as conn:
        token = _ambient.set((app_pk, conn, pending))
        try:
            yield
        finally:
            _ambient.reset(token)
    for work in pending:
        await work()
