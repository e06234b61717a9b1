"""Per-provider send rates: a token bucket in Redis per (app, provider), shared by every worker.

``HANGAR_PUSH_RATE_LIMITS`` sets notifications per second per provider name (``fcm``,
``apns``, ``webpush``, ``log``, and ``default`` for the rest); the bucket holds one second's
worth, so a worker may send a burst of that size after a quiet spell. The refill uses
Redis's own clock (TIME), so workers on machines whose clocks differ share one bucket fairly.
"""

from __future__ import annotations

import asyncio

from django.conf import settings

from hangar.redis_async import get_redis

# KEYS[1] the bucket; ARGV: rate per second, capacity, tokens wanted. Returns the seconds
# (as a string) to wait before the tokens are there; "0" when they were taken.
_TAKE = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local wanted = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= wanted then
  tokens = tokens - wanted
else
  wait = (wanted - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 60)
return tostring(wait)
"""
# Longest single wait inside a batch task; a longer one gives the worker back (the task is queued again).
MAX_WAIT_SECONDS = 5.0


def rate_for(provider: str) -> float:
    limits: dict[str, float] = settings.HANGAR_PUSH_RATE_LIMITS
    return float(limits.get(provider, limits.get("default", 0)))


def _key(app_pk: int, provider: str) -> str:
    return f"hangar:push:rate:{int(app_pk)}:{provider}"


async def tokens_take(*, app_pk: int, provider: str, count: int) -> float:
    """Take ``count`` tokens; returns 0.0, or the seconds to wait before trying again (nothing taken)."""
    rate = rate_for(provider)
    if rate <= 0:  # no limit configured
        return 0.0
    capacity = max(rate, 1.0)  # callers take at most this many at a time (batch_sends._rate_pieces)
    wait = await get_redis().eval(_TAKE, 1, _key(app_pk, provider), rate, capacity, count)  # type: ignore[misc]
    return float(wait)


async def tokens_wait(*, app_pk: int, provider: str, count: int) -> bool:
    """Wait until ``count`` sends are allowed; False if that would take longer than MAX_WAIT_SECONDS."""
    waited = 0.0
    while True:
        wait = await tokens_take(app_pk=app_pk, provider=provider, count=count)
        if wait <= 0:
            return True
        if waited + wait > MAX_WAIT_SECONDS:
            return False
        await asyncio.sleep(wait)
        waited += wait
