"""Values in a where: recognising wire types and turning them into bind parameters.

Comparisons against ``data`` use the storage encoding (docs/datastore.md), so literal
values are normalised the same way writes normalise them: dates re-encoded in the
canonical UTC form, pointers, files and geopoints reduced to their stored members.
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from typing import Any

from hangar.datastore.dates import format_date, parse_date
from hangar.parse_errors import INVALID_JSON, INVALID_QUERY, ParseError

# json.dumps writes NUL as \u0000, which jsonb refuses; a run of escaped backslashes
# before it would make it literal text instead.
_ESCAPED_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


def wire_type(value: Any) -> str | None:
    return value.get("__type") if isinstance(value, dict) else None


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_pointer(value: Any) -> bool:
    return (
        wire_type(value) == "Pointer"
        and isinstance(value.get("className"), str)
        and isinstance(value.get("objectId"), str)
    )


def is_relative_time(value: Any) -> bool:
    return isinstance(value, dict) and "$relativeTime" in value


def is_date(value: Any) -> bool:
    return wire_type(value) == "Date"


def json_type(value: Any) -> str:
    """The ``jsonb_typeof`` name of a JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if is_number(value):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def normalize(value: Any) -> Any:
    """Reduce a wire value to its storage encoding."""
    kind = wire_type(value)
    if kind == "Pointer" and is_pointer(value):
        return {"__type": "Pointer", "className": value["className"], "objectId": value["objectId"]}
    if kind == "Date":
        return {"__type": "Date", "iso": format_date(parse_date(value))}
    if kind == "File" and isinstance(value.get("name"), str):
        return {"__type": "File", "name": value["name"]}
    if kind == "GeoPoint":
        return {"__type": "GeoPoint", "latitude": value.get("latitude"), "longitude": value.get("longitude")}
    if kind == "Polygon" and isinstance(value.get("coordinates"), list) and value["coordinates"]:
        return {"__type": "Polygon", "coordinates": _closed(value["coordinates"])}
    if isinstance(value, dict):
        return {key: normalize(item) for key, item in value.items()}
    if isinstance(value, list):
        return [normalize(item) for item in value]
    return value


def _closed(ring: list[Any]) -> list[Any]:
    """Polygons are stored closed (first point repeated last); compare them the same way."""
    return ring if ring[0] == ring[-1] else [*ring, ring[0]]


def json_param(value: Any) -> str:
    """A jsonb bind parameter (use with ``%s::jsonb``) holding the normalised value."""
    try:
        text = json.dumps(normalize(value), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (ValueError, TypeError, RecursionError):
        raise ParseError(INVALID_JSON, f"bad atom: {value!r:.200}") from None
    if "\\u0000" in text and _ESCAPED_NUL.search(text):
        raise ParseError(INVALID_QUERY, "Query values cannot contain the NUL character.")
    return text


def number_param(value: int | float) -> Decimal | int:
    """A numeric bind parameter; floats go through their shortest repr, as json stores them."""
    if isinstance(value, int):
        return value
    if not math.isfinite(value):
        raise ParseError(INVALID_JSON, f"bad atom: {value}")
    return Decimal(repr(value))


def numeric_list(values: list[Any]) -> list[Decimal]:
    """Numbers for a ``%s::numeric[]`` parameter (psycopg wants one element type)."""
    return [Decimal(number_param(value)) for value in values]
