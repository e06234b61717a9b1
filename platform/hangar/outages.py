"""Failures of a service Hangar depends on (PostgreSQL, Redis), told apart from bugs.

A request that meets one is answered ``503`` with ``Retry-After`` and Parse's
``100 ConnectionFailed``, so clients back off and retry (the Parse SDKs retry 5xx);
``500 {"code": 1}`` stays for bugs. An outage fails every request the same way, so its
log is rate-limited: the first occurrence with its traceback, then one line per interval
with how many more there were, instead of a traceback per request.
"""

from __future__ import annotations

import logging
import time

import psycopg
import redis.exceptions

from hangar.db_pool import DeadlineExceededError, PoolTimeout
from hangar.parse_errors import CONNECTION_FAILED, ParseError

RETRY_AFTER_SECONDS = 1
LOG_INTERVAL_SECONDS = 10.0

# Lost or refused connections, timeouts, a pool with no free connection and a database that
# did not answer within the deadline; not a query's own error (a constraint, a bad value),
# which psycopg raises as other classes.
_OUTAGES: tuple[type[BaseException], ...] = (
    psycopg.OperationalError,
    PoolTimeout,
    DeadlineExceededError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)


def is_outage(exc: BaseException) -> bool:
    return isinstance(exc, _OUTAGES)


def outage_error() -> ParseError:
    return ParseError(
        CONNECTION_FAILED, "A service Hangar depends on is unavailable; retry shortly.", status=503,
        headers={"retry-after": str(RETRY_AFTER_SECONDS)},
    )  # fmt: skip


class RepeatedFailureLog:
    """Log a failure's first occurrence in full, then at most one line per interval for the same kind."""

    def __init__(self, logger: logging.Logger, interval: float = LOG_INTERVAL_SECONDS) -> None:
        self._log = logger
        self._interval = interval
        self._seen: dict[tuple[str, str], tuple[float, int]] = {}  # kind -> (last logged at, suppressed since)

    def failure(self, exc: BaseException, context: str) -> None:
        kind = (type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
        now = time.monotonic()
        last = self._seen.get(kind)
        if last is None:
            self._seen[kind] = (now, 0)
            self._log.error("%s: %s", context, kind[0], exc_info=exc)
            return
        logged_at, suppressed = last
        if now - logged_at < self._interval:
            self._seen[kind] = (logged_at, suppressed + 1)
            return
        self._seen[kind] = (now, 0)
        self._log.error("%s: %s: %s (and %d more like it in the last %.0f s)", context, kind[0], kind[1],
                        suppressed, now - logged_at)  # fmt: skip
