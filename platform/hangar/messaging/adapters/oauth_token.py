"""A cached access token that is refreshed shortly before it expires, once for all concurrent senders.

The lock is per event loop: a provider may outlive the loop it was first used on (a Celery
task runs each batch in ``asyncio.run``), and an ``asyncio.Lock`` cannot cross loops.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

# Refresh this long before the provider's expiry, so a token never expires in flight.
REFRESH_MARGIN_SECONDS = 300.0


@dataclass(frozen=True)
class IssuedToken:
    value: str
    expires_at: float  # time.time() seconds


class CachedToken:
    def __init__(self, fetch: Callable[[], Awaitable[IssuedToken]], *, clock: Callable[[], float] = time.time) -> None:
        self._fetch = fetch
        self._clock = clock
        self._token: IssuedToken | None = None
        self._locks: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}

    def _lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            self._locks = {known: lk for known, lk in self._locks.items() if not known.is_closed()}
            lock = self._locks[loop] = asyncio.Lock()
        return lock

    def _fresh(self) -> IssuedToken | None:
        token = self._token
        if token is not None and token.expires_at - REFRESH_MARGIN_SECONDS > self._clock():
            return token
        return None

    async def get(self, *, stale: str | None = None) -> str:
        """The current token; a new one near expiry, or when ``stale`` (a token the provider refused) is current."""
        token = self._fresh()
        if token is not None and token.value != stale:
            return token.value
        async with self._lock():
            token = self._fresh()
            if token is None or token.value == stale:
                token = self._token = await self._fetch()
            return token.value
