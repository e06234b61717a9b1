"""The LiveQuery process's garbage-collector policy: connections' objects frozen, then collected after turnover."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from hangar.realtime.heap import COMPACT_AFTER_CLOSED, FREEZE_AFTER_OPENED, HeapKeeper


class _Cycle:
    """An object in a reference cycle with itself: only the cyclic collector frees it."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture
def thawed() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # the rest of the test session collects as usual


def test_settled_connections_are_frozen_out_of_full_collections(thawed: None) -> None:
    keeper = HeapKeeper()
    for _ in range(FREEZE_AFTER_OPENED - 1):
        keeper.connection_opened()
    keeper.tick(FREEZE_AFTER_OPENED - 1)
    assert gc.get_freeze_count() == 0  # not enough new connections yet

    keeper.connection_opened()
    keeper.tick(FREEZE_AFTER_OPENED)
    assert gc.get_freeze_count() > 0
    assert keeper.opened == 0


def test_cycles_frozen_with_closed_connections_are_collected_after_turnover(thawed: None) -> None:
    keeper = HeapKeeper()
    connection_objects = _Cycle()
    alive = weakref.ref(connection_objects)
    for _ in range(FREEZE_AFTER_OPENED):
        keeper.connection_opened()
    keeper.tick(FREEZE_AFTER_OPENED)  # frozen while the connection is open
    del connection_objects  # the connection closed: its objects are a garbage cycle
    gc.collect()
    assert alive() is not None  # full collections leave frozen objects alone

    for _ in range(COMPACT_AFTER_CLOSED - 1):
        keeper.connection_closed()
    keeper.tick(0)
    assert alive() is not None  # fewer closed connections than the minimum: nothing yet

    keeper.connection_closed()
    keeper.tick(0)
    assert alive() is None  # handed back to the collector and collected
    assert keeper.closed == 0
    assert gc.get_freeze_count() > 0  # what survived is frozen again


def test_no_full_collection_while_most_connections_are_open(thawed: None) -> None:
    keeper = HeapKeeper()
    for _ in range(COMPACT_AFTER_CLOSED):
        keeper.connection_closed()
    keeper.tick(COMPACT_AFTER_CLOSED + 1)  # more open than closed since the last full collection
    assert keeper.closed == COMPACT_AFTER_CLOSED
