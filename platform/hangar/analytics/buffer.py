"""Analytics events buffered per process and written in batches, never one INSERT per request.

A request only appends its event to this process's buffer. The buffer is written when it
holds ``HANGAR_ANALYTICS_FLUSH_EVENTS`` events, or ``HANGAR_ANALYTICS_FLUSH_SECONDS`` after
its first pending event, whichever comes first, and when the server stops (the ASGI
lifespan's shutdown). One flush is one transaction on a data-plane connection: for each app
in the batch it binds the app (``hangar.app_id``, so row-level security checks every row)
and moves that app's rows in one statement (COPY first into a table of the transaction: see _STAGE).

What a crash costs: the events of the last flush interval (those still in memory) are lost;
a flush that fails (PostgreSQL down) keeps its events and is tried again at the next
interval, up to ``HANGAR_ANALYTICS_BUFFER_MAX`` pending events, beyond which new events are
refused with 503 and ``Retry-After`` rather than growing the process without bound.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime

import orjson
from django.conf import settings

from hangar.db_pool import get_pool
from hangar.loop_local import LoopLocal
from hangar.parse_errors import CONNECTION_FAILED, ParseError

log = logging.getLogger(__name__)

# PostgreSQL refuses COPY FROM into a table under row-level security, so a flush COPYs the batch
# into a temporary table that lives for its transaction (no RLS, nothing left on the connection
# for the next user of a pooled or PgBouncer'd connection), then moves each app's rows with one
# INSERT ... SELECT while that app is bound, so the policy still checks every row. COPY's rows are
# formatted in C (psycopg's binary package): this costs a quarter of the Python CPU of passing one
# array per column (bench/README.md, "Analytics and metering").
_STAGE = """
CREATE TEMP TABLE analytics_event_incoming (
    app_id bigint, name text, dimensions jsonb, user_id text, installation_id text, at timestamptz
) ON COMMIT DROP
"""
_COPY = "COPY analytics_event_incoming (app_id, name, dimensions, user_id, installation_id, at) FROM STDIN"
_MOVE = """
INSERT INTO analytics_event (app_id, name, dimensions, user_id, installation_id, at)
SELECT app_id, name, dimensions, user_id, installation_id, at FROM analytics_event_incoming WHERE app_id = %s
"""


@dataclass(frozen=True, slots=True)
class PendingEvent:
    app_pk: int
    name: str
    dimensions: dict[str, str]
    user_id: str
    installation_id: str
    at: datetime


class EventBuffer:
    """The events this process has accepted and not yet written, for one event loop."""

    def __init__(self, *, flush_events: int, flush_seconds: float, max_pending: int) -> None:
        self._pending: list[PendingEvent] = []
        self._flush_events = max(1, flush_events)
        self._flush_seconds = flush_seconds
        self._max_pending = max(self._flush_events, max_pending)
        self._timer: asyncio.TimerHandle | None = None
        self._running: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()  # one flush at a time: batches are written in arrival order
        self.written = 0  # events written by this buffer (metrics)

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, event: PendingEvent) -> None:
        if len(self._pending) >= self._max_pending:
            raise ParseError(
                CONNECTION_FAILED, "Analytics events cannot be stored right now.", status=503,
                headers={"retry-after": str(max(1, int(self._flush_seconds)))},
            )  # fmt: skip
        self._pending.append(event)
        if len(self._pending) >= self._flush_events and len(self._running) < 2:
            self._start_flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._flush_seconds, self._start_flush)

    def _start_flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        task = asyncio.get_running_loop().create_task(self._flush_in_background())
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _flush_in_background(self) -> None:
        try:
            await self.flush()
        except Exception:
            log.exception("analytics events not written; kept for the next flush")
            if self._pending and self._timer is None:
                self._timer = asyncio.get_running_loop().call_later(self._flush_seconds, self._start_flush)

    async def flush(self) -> int:
        """Write every pending event now; on failure they stay pending (and the error is raised)."""
        async with self._lock:
            batch, self._pending = self._pending, []
            if self._timer is not None:  # this flush takes what the timer was set for
                self._timer.cancel()
                self._timer = None
            if not batch:
                return 0
            try:
                await _write(batch)
            except BaseException:
                self._pending[:0] = batch  # older events first, as they arrived
                raise
            self.written += len(batch)
            return len(batch)

    async def drain(self) -> int:
        """Wait for flushes in progress, then write what is left (server shutdown, tests)."""
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)
        return await self.flush()


async def _write(batch: list[PendingEvent]) -> None:
    pool = await get_pool()
    dumps = orjson.dumps
    async with pool.connection() as conn, conn.transaction():
        await conn.run(_STAGE)
        async with conn.cursor() as cursor, cursor.copy(_COPY) as copy:
            for e in batch:
                row = (e.app_pk, e.name, dumps(e.dimensions).decode(), e.user_id, e.installation_id, e.at)
                await copy.write_row(row)
        for app_pk in sorted({e.app_pk for e in batch}):
            await conn.run("SELECT set_config('hangar.app_id', %s, true)", [str(int(app_pk))])
            await conn.run(_MOVE, [app_pk])


_buffers: LoopLocal[EventBuffer] = LoopLocal()


def event_buffer() -> EventBuffer:
    """This event loop's buffer (a server process has one loop, so one buffer)."""
    buffer = _buffers.get()
    if buffer is None:
        buffer = EventBuffer(
            flush_events=settings.HANGAR_ANALYTICS_FLUSH_EVENTS,
            flush_seconds=settings.HANGAR_ANALYTICS_FLUSH_SECONDS,
            max_pending=settings.HANGAR_ANALYTICS_BUFFER_MAX,
        )
        _buffers.set(buffer)
    return buffer


def buffer_stats() -> tuple[int, int]:
    """(pending, written) events of this event loop's buffer (metrics)."""
    buffer = _buffers.get()
    return (len(buffer), buffer.written) if buffer is not None else (0, 0)


async def events_flush() -> int:
    """Write this loop's pending events now (shutdown, tests); returns how many this call wrote."""
    buffer = _buffers.get()
    if buffer is None:
        return 0
    return await buffer.drain()
