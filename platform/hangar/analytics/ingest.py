"""``POST /parse/events/:eventName``: validate one analytics event and queue it for the next flush.

Parse's analytics API (reference §13.3, https://docs.parseplatform.org/rest/guide/#analytics):
``AppOpened`` and custom events, each with optional string ``dimensions`` and an optional
``at`` date. Who sent it comes from the admitted request, never from the body: the user of
the session (if any) and the installation id the client presented.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from hangar.analytics.buffer import PendingEvent, event_buffer
from hangar.caller import Caller
from hangar.datastore.dates import parse_date
from hangar.parse_errors import INVALID_EVENT_NAME, INVALID_JSON, ParseError

MAX_DIMENSIONS = 8  # as Parse: "Parse will store only the first eight dimension pairs"; we refuse instead
MAX_NAME_LENGTH = 128
MAX_DIMENSION_KEY_LENGTH = 64
MAX_DIMENSION_VALUE_LENGTH = 256
# An event may be dated up to this far back (an offline client catching up) or ahead (clock skew).
MAX_PAST = timedelta(days=30)
MAX_FUTURE = timedelta(hours=1)
_EVENT_NAME = re.compile(r"[A-Za-z0-9_$][A-Za-z0-9_$ .:\-]*", re.ASCII)


def _checked_name(name: str) -> str:
    if len(name) > MAX_NAME_LENGTH or not _EVENT_NAME.fullmatch(name):
        raise ParseError(
            INVALID_EVENT_NAME,
            f"Invalid event name: at most {MAX_NAME_LENGTH} letters, digits, spaces and _ $ . : -, "
            "starting with a letter, a digit, _ or $.",
        )
    return name


def _checked_dimensions(dimensions: Any) -> dict[str, str]:
    if dimensions is None:
        return {}
    if not isinstance(dimensions, dict):
        raise ParseError(INVALID_JSON, "dimensions must be an object of string keys and string values.")
    if len(dimensions) > MAX_DIMENSIONS:
        raise ParseError(INVALID_JSON, f"An event may have at most {MAX_DIMENSIONS} dimensions, not {len(dimensions)}.")
    for key, value in dimensions.items():
        if not isinstance(value, str):
            raise ParseError(INVALID_JSON, f"Dimension {key[:MAX_DIMENSION_KEY_LENGTH]!r} must be a string.")
        if not key or len(key) > MAX_DIMENSION_KEY_LENGTH:
            raise ParseError(INVALID_JSON, f"Dimension names are 1 to {MAX_DIMENSION_KEY_LENGTH} characters.")
        if len(value) > MAX_DIMENSION_VALUE_LENGTH or "\x00" in value or "\x00" in key:
            raise ParseError(
                INVALID_JSON, f"Dimension values are at most {MAX_DIMENSION_VALUE_LENGTH} characters, without NUL."
            )
    return dimensions


def _checked_at(at: Any, now: datetime) -> datetime:
    if at is None:
        return now
    when = parse_date(at)  # 111 for anything but a Parse date or an ISO string
    if when < now - MAX_PAST or when > now + MAX_FUTURE:
        raise ParseError(INVALID_JSON, "at must be within the last 30 days (and not more than an hour ahead).")
    return when


def event_record(caller: Caller, *, name: str, body: dict[str, Any]) -> None:
    """Validate the event and add it to this process's buffer (written within the flush interval).

    Raises ParseError for bad input, and 503 when the buffer is full because the database is
    not taking writes.
    """
    now = datetime.now(UTC)
    event = PendingEvent(
        app_pk=caller.app_pk,
        name=_checked_name(name),
        dimensions=_checked_dimensions(body.get("dimensions")),
        user_id=caller.user_id or "",
        installation_id=(caller.installation_id or "")[:64],
        at=_checked_at(body.get("at"), now),
    )
    event_buffer().add(event)
