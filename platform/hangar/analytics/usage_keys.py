"""Where admission counts an app's requests in Redis: one hash per app and hour, one counter per month.

Admission (hangar.admission.registry) adds to both in the Redis round trip every request
already makes; ``hangar.analytics.metering`` copies the hours into ``UsageRecord`` rows.
Hours are counted from the Unix epoch so a request needs no calendar arithmetic; the month
(a calendar month in UTC, what plans' monthly limits mean) is worked out once per hour.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

USAGE_HOUR_PREFIX = "hangar:usage:h:"
USAGE_HOUR_SECONDS = 172800  # an hour's hash outlives two days of collections
_month_of_hour: tuple[int, str] = (-1, "")


def usage_hour_key(app_pk: int, epoch_hour: int) -> str:
    return f"{USAGE_HOUR_PREFIX}{app_pk}:{epoch_hour}"


def usage_month_key(app_pk: int, month: str) -> str:
    return f"hangar:usage:m:{app_pk}:{month}"


def month_of(epoch_hour: int) -> str:
    """``"202612"`` for any hour of December 2026 (cached: it changes once an hour at most)."""
    global _month_of_hour
    cached_hour, month = _month_of_hour
    if cached_hour != epoch_hour:
        month = datetime.fromtimestamp(epoch_hour * 3600, UTC).strftime("%Y%m")
        _month_of_hour = (epoch_hour, month)
    return month


# Each app's keys for the current hour: admission asks for them on every metered request, and
# they change once an hour (building them was ~2 us of a request's CPU). Forgotten whole past a bound.
_keys_of_app: dict[int, tuple[int, tuple[str, str]]] = {}
_KEYS_REMEMBERED = 10_000


def usage_keys(app_pk: int, now: float | None = None) -> tuple[str, str]:
    """The app's (hour hash, month counter) keys for a request arriving now."""
    epoch_hour = int(now if now is not None else time.time()) // 3600
    cached = _keys_of_app.get(app_pk)
    if cached is not None and cached[0] == epoch_hour:
        return cached[1]
    keys = usage_hour_key(app_pk, epoch_hour), usage_month_key(app_pk, month_of(epoch_hour))
    if len(_keys_of_app) >= _KEYS_REMEMBERED:
        _keys_of_app.clear()
    _keys_of_app[app_pk] = (epoch_hour, keys)
    return keys


def invocations_month_key(app_pk: int, now: float | None = None) -> str:
    """The app's cloud-code invocations this month (counted only when its plan limits them)."""
    epoch_hour = int(now if now is not None else time.time()) // 3600
    return f"hangar:usage:i:{app_pk}:{month_of(epoch_hour)}"


def seconds_to_next_month(now: float | None = None) -> int:
    moment = datetime.fromtimestamp(now if now is not None else time.time(), UTC)
    first = datetime(moment.year + (moment.month == 12), moment.month % 12 + 1, 1, tzinfo=UTC)
    return max(1, int((first - moment).total_seconds()))
