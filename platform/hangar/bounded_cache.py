"""Per-process caches of the data plane with a fixed number of entries, least recently used out first.

One node hosts thousands of apps (docs/scaling.md, "Density"), most of them idle at any moment.
The data plane caches what every request needs (the app and its keys, its schemas, a session's
user, a user's roles) in process memory; a plain dict would keep every app and session a process
ever saw. These caches hold at most a configured number of entries (``HANGAR_CACHE_MAX_APPS``,
``HANGAR_CACHE_MAX_SESSIONS``): an active app stays cached, an idle one is evicted and costs
nothing but its rows until it is next used (one load, as after an invalidation).

Every cache registers itself by name, so ``cache_report()`` can say what a process holds (the
density benchmark prints it beside the process's memory).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

_registry: dict[str, LruCache[object, object]] = {}


class LruCache(Generic[K, V]):
    """A mapping of at most ``max_entries()`` entries; reading or writing an entry makes it the newest."""

    def __init__(self, name: str, max_entries: Callable[[], int]) -> None:
        # A callable, read at each insertion: settings are read when first needed, not at import
        # (tests change them), and a process never holds more than the current bound.
        self.name = name
        self._max_entries = max_entries
        self._entries: OrderedDict[K, V] = OrderedDict()
        self.evictions = 0
        _registry[name] = self  # type: ignore[assignment]

    @property
    def max_entries(self) -> int:
        return max(1, int(self._max_entries()))

    def get(self, key: K) -> V | None:
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
        return value

    def __setitem__(self, key: K, value: V) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        limit = self.max_entries
        while len(self._entries) > limit:
            self._entries.popitem(last=False)
            self.evictions += 1

    def pop(self, key: K, default: V | None = None) -> V | None:
        return self._entries.pop(key, default)

    def clear(self) -> None:
        self._entries.clear()

    def keys(self) -> list[K]:
        """A snapshot of the keys, oldest first (safe to pop from while iterating it)."""
        return list(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __iter__(self) -> Iterator[K]:
        return iter(self.keys())


def cache_report() -> dict[str, dict[str, int]]:
    """Entries, bound and evictions so far of every data-plane cache in this process."""
    return {
        name: {"entries": len(cache), "max_entries": cache.max_entries, "evictions": cache.evictions}
        for name, cache in sorted(_registry.items())
    }
