"""Parse dates on the wire: decode any ISO 8601 input, encode exactly one canonical form.

Stored and returned dates are UTC with exactly three fractional digits and a literal
``Z`` (protocol reference §18.1): the JS SDK's parser rejects Python's ``isoformat()``,
and the canonical form makes string order equal time order inside ``data``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from hangar.parse_errors import INCORRECT_TYPE, ParseError

NOT_A_DATE = "This is not a valid Date"

# fromisoformat() accepts the whole ISO 8601 family in 3.11 but also oddities such as
# week dates ("2024-W01"); Parse clients only ever send calendar dates and times.
_ISO_SHAPE = re.compile(r"\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}([.,]\d+)?)?([Zz]|[+-]\d{2}(:?\d{2})?)?)?", re.ASCII)


def parse_date(value: Any) -> datetime:
    """Return the UTC datetime of a ``{"__type":"Date","iso":...}`` object, an ISO string or a datetime."""
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, dict):
        if value.get("__type") != "Date":
            raise ParseError(INCORRECT_TYPE, NOT_A_DATE)
        value = value.get("iso")
    if not isinstance(value, str) or not _ISO_SHAPE.fullmatch(value):
        raise ParseError(INCORRECT_TYPE, NOT_A_DATE)
    text = value.replace(",", ".")
    if text[-1] in "zZ":
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
        return parsed.astimezone(UTC) if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise ParseError(INCORRECT_TYPE, NOT_A_DATE) from None


# The same form computed by PostgreSQL, for the system date columns of rows that go
# straight to the wire: to_char costs the server ~0.3 us a value where building a
# datetime and formatting it costs this process ~2 us (two per object, 40 per page).
WIRE_CREATED_AT = """to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"""
WIRE_UPDATED_AT = """to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"""
WIRE_DATE_COLUMNS = f"{WIRE_CREATED_AT}, {WIRE_UPDATED_AT}"


def format_date(value: datetime | str) -> str:
    """Encode a datetime as ``YYYY-MM-DDTHH:MM:SS.mmmZ`` in UTC (naive values are taken as UTC).

    A string is taken as already encoded (a column selected with ``WIRE_DATE_COLUMNS``).
    """
    if isinstance(value, str):
        return value
    tz = value.tzinfo
    if tz is UTC:
        return value.isoformat(timespec="milliseconds")[:-6] + "Z"  # drops "+00:00"
    if tz is not None:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def date_json(value: datetime) -> dict[str, str]:
    """The wire (and storage) encoding of a date field value."""
    return {"__type": "Date", "iso": format_date(value)}
