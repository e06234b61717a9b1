"""One object per asyncio event loop (a server process has one loop; the tests may run several).

The data plane keeps its PostgreSQL pool and Redis client per loop, because both are bound
to the loop that created them. The last loop's object is kept aside, so the common lookup
costs an identity check instead of a weak-reference dictionary lookup.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Generic, TypeVar

T = TypeVar("T")


class LoopLocal(Generic[T]):
    def __init__(self) -> None:
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, T] = weakref.WeakKeyDictionary()
        self._last: tuple[asyncio.AbstractEventLoop, T] | None = None

    def get(self) -> T | None:
        loop = asyncio.get_running_loop()
        last = self._last
        if last is not None and last[0] is loop:
            return last[1]
        value = self._by_loop.get(loop)
        if value is not None:
            self._last = (loop, value)
        return value

    def set(self, value: T) -> None:
        loop = asyncio.get_running_loop()
        self._by_loop[loop] = value
        self._last = (loop, value)

    def drop_closed(self) -> list[T]:
        """Forget the objects of loops that have been closed, and return them.

        They are not freed by the weak keys alone: an object bound to its loop refers to it.
        """
        closed = [loop for loop in list(self._by_loop) if loop.is_closed()]
        if self._last is not None and self._last[0].is_closed():
            self._last = None
        return [value for loop in closed if (value := self._by_loop.pop(loop, None)) is not None]

    def pop(self) -> T | None:
        self._last = None
        return self._by_loop.pop(asyncio.get_running_loop(), None)
