"""Turning transport failures and HTTP answers into ``DeliveryOutcome``s, the same way for every vendor."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from email.utils import parsedate_to_datetime
from typing import TypeVar

import httpx

from hangar.egress import EgressError
from hangar.messaging.adapters.base import DeliveryOutcome, OutcomeKind

T = TypeVar("T")
R = TypeVar("R")


def retry_after_seconds(headers: httpx.Headers) -> float | None:
    """Retry-After as seconds (delta-seconds or an HTTP date, RFC 9110 §10.2.3); None when absent or unreadable."""
    value = headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        from datetime import UTC, datetime

        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


def egress_failure(exc: EgressError) -> DeliveryOutcome:
    """A request that never got an answer: retry when the network may recover, else fail."""
    kind = OutcomeKind.RETRY if exc.retryable else OutcomeKind.FAILED
    return DeliveryOutcome(kind, error=f"egress: {exc.__class__.__name__}")


async def bounded_map(items: Sequence[T], work: Callable[[T], Awaitable[R]], *, concurrency: int) -> list[R]:
    """``work`` on every item, at most ``concurrency`` at a time, results in the items' order.

    ``concurrency`` runners take the next item as they finish one: a task per runner, not per
    item (a push campaign maps thousands of items a second through here)."""
    results: list[R] = []
    pending = iter(range(len(items)))
    slots: list[object] = [None] * len(items)

    async def runner() -> None:
        for position in pending:
            slots[position] = await work(items[position])

    await asyncio.gather(*(runner() for _ in range(max(1, min(concurrency, len(items))))))
    results.extend(slots)  # type: ignore[arg-type]  # every slot was filled by a runner
    return results
