"""``{"$relativeTime": "..."}`` operands (protocol reference §8.2).

Grammar, as Parse Server's ``relativeTimeToDate``: ``in <n> <unit> [...]``,
``<n> <unit> [...] ago`` or ``now``; ``n`` an integer; a year is 365 days.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_SECONDS_PER_UNIT = {
    **dict.fromkeys(("yr", "yrs", "year", "years"), 365 * 24 * 3600),
    **dict.fromkeys(("wk", "wks", "week", "weeks"), 7 * 24 * 3600),
    **dict.fromkeys(("d", "day", "days"), 24 * 3600),
    **dict.fromkeys(("hr", "hrs", "hour", "hours"), 3600),
    **dict.fromkeys(("min", "mins", "minute", "minutes"), 60),
    **dict.fromkeys(("sec", "secs", "second", "seconds"), 1),
}
_INTEGER = re.compile(r"[+-]?\d{1,12}", re.ASCII)


class RelativeTimeError(ValueError):
    """The text is not a relative time; ``str(error)`` is Parse Server's explanation."""


def relative_time_to_date(text: str, now: datetime | None = None) -> datetime:
    """Resolve a relative time such as ``"2 days ago"`` against ``now`` (default: the current UTC time)."""
    now = now or datetime.now(UTC)
    parts = text.lower().split()
    if parts == ["now"]:
        return now
    future = bool(parts) and parts[0] == "in"
    past = bool(parts) and parts[-1] == "ago"
    if not future and not past:
        raise RelativeTimeError("Time should either start with 'in' or end with 'ago'")
    if future and past:
        raise RelativeTimeError("Time cannot have both 'in' and 'ago'")
    parts = parts[1:] if future else parts[:-1]
    if len(parts) % 2:
        raise RelativeTimeError("Invalid time string. Dangling unit or number.")
    seconds = sum(_pair_seconds(number, unit) for number, unit in zip(parts[::2], parts[1::2], strict=True))
    try:
        return now + timedelta(seconds=seconds if future else -seconds)
    except OverflowError:
        raise RelativeTimeError("Time is out of range.") from None


def _pair_seconds(number: str, unit: str) -> int:
    if not _INTEGER.fullmatch(number):
        raise RelativeTimeError(f"'{number}' is not an integer.")
    if unit not in _SECONDS_PER_UNIT:
        raise RelativeTimeError(f"Invalid interval: '{unit}'")
    return int(number) * _SECONDS_PER_UNIT[unit]
