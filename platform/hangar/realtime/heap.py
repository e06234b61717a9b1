"""Short garbage-collector pauses in a process that holds thousands of LiveQuery connections.

Each connection is a hundred-odd objects the cyclic garbage collector tracks (uvicorn's
protocol, the ``websockets`` parser, the ASGI task and its coroutines, the subscription).
CPython's full collection walks every tracked object, and it runs whenever the objects
promoted since the last one exceed a quarter of the survivors: with 5,000 connections per
process, keep-alive timers and a fan-out's temporaries get there every 15 to 60 seconds,
and each full collection stopped the event loop, and every delivery behind it, for 0.3
to 1.5 s (measured, docs/realtime.md "Measured").

So the connections' objects are moved out of the collector's sight once they have
settled: ``gc.freeze()`` puts every object tracked so far into the permanent generation,
which collections skip; the objects made later (events, timers, new connections) are
collected as usual, in pauses of milliseconds. Objects are still freed by reference
counting; what a frozen object cannot be is collected as part of a garbage cycle, and a
closed connection's objects are such a cycle. So once as many connections have closed
since the last full collection as are open now (at least ``COMPACT_AFTER_CLOSED``), the
frozen objects are handed back and collected in one full collection, and what survives
is frozen again: the memory held by closed connections stays below that of the open
ones, and the process pays one long pause per such turnover instead of one a minute.
"""

from __future__ import annotations

import gc
import logging
import time

log = logging.getLogger(__name__)

FREEZE_AFTER_OPENED = 500  # connections opened since the last freeze before the next one
COMPACT_AFTER_CLOSED = 1000  # and never fewer closed connections than this before a full collection


class HeapKeeper:
    """Counts connections opened and closed; ``tick`` (about once a second) freezes or compacts."""

    def __init__(self) -> None:
        self.opened = 0  # since the last freeze
        self.closed = 0  # since the last full collection

    def connection_opened(self) -> None:
        self.opened += 1

    def connection_closed(self) -> None:
        self.closed += 1

    def tick(self, open_connections: int) -> None:
        if self.closed >= max(COMPACT_AFTER_CLOSED, open_connections):
            started, closed = time.monotonic(), self.closed
            gc.unfreeze()
            gc.collect()
            gc.freeze()
            self.opened = self.closed = 0
            log.info(
                "LiveQuery: full collection after %s closed connections took %.0f ms",
                closed, 1000 * (time.monotonic() - started),
            )  # fmt: skip
        elif self.opened >= FREEZE_AFTER_OPENED:
            gc.collect(1)  # the young generations first (cheap): their garbage is not frozen
            gc.freeze()
            self.opened = 0
