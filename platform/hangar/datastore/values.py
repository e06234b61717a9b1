"""Validation, type inference and storage encoding of field values (reference §5.3).

Values are stored in their wire encoding (docs/datastore.md), normalized: dates to UTC
with millisecond precision, files to their name only, polygons closed.
"""

from __future__ import annotations

from typing import Any

from hangar.datastore.dates import format_date, parse_date
from hangar.parse_errors import INCORRECT_TYPE, INVALID_JSON, INVALID_NESTED_KEY, ParseError

TYPES = frozenset(
    {
        "String",
        "Number",
        "Boolean",
        "Date",
        "Object",
        "Array",
        "Pointer",
        "Relation",
        "File",
        "GeoPoint",
        "Polygon",
        "Bytes",
        "ACL",
    }
)


def infer_type(value: Any) -> dict[str, Any] | None:
    """The schema type a value implies, or None for null (which fixes no type)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return {"type": "Boolean"}
    if isinstance(value, int | float):
        return {"type": "Number"}
    if isinstance(value, str):
        return {"type": "String"}
    if isinstance(value, list):
        return {"type": "Array"}
    if isinstance(value, dict):
        kind = value.get("__type")
        if kind == "Pointer":
            return {"type": "Pointer", "targetClass": value.get("className")}
        if kind in {"Date", "File", "GeoPoint", "Polygon", "Bytes"}:
            return {"type": kind}
        if kind == "Relation":
            return {"type": "Relation", "targetClass": value.get("className")}
        return {"type": "Object"}
    raise ParseError(INVALID_JSON, f"Unsupported value {value!r}.")


def type_label(spec: dict[str, Any]) -> str:
    if spec["type"] in {"Pointer", "Relation"}:
        return f"{spec['type']}<{spec.get('targetClass')}>"
    return str(spec["type"])


def types_compatible(expected: dict[str, Any], actual: dict[str, Any]) -> bool:
    if expected["type"] != actual["type"]:
        return False
    if expected["type"] in {"Pointer", "Relation"}:
        return expected.get("targetClass") == actual.get("targetClass")
    return True


def _check_nested_keys(value: Any) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            if ("$" in key or "." in key) and key not in {"__type", "__op"}:
                raise ParseError(INVALID_NESTED_KEY, "Nested keys should not contain the '$' or '.' characters")
            _check_nested_keys(inner)
    elif isinstance(value, list):
        for inner in value:
            _check_nested_keys(inner)


def _geo_point(value: dict[str, Any]) -> dict[str, Any]:
    lat, lng = value.get("latitude"), value.get("longitude")
    if not isinstance(lat, int | float) or not isinstance(lng, int | float) or isinstance(lat, bool):
        raise ParseError(INCORRECT_TYPE, "This is not a valid GeoPoint")
    if not -90 <= lat <= 90 or not -180 <= lng <= 180:
        raise ParseError(INVALID_JSON, "GeoPoint latitude must be in [-90, 90] and longitude in [-180, 180].")
    return {"__type": "GeoPoint", "latitude": lat, "longitude": lng}


def _polygon(value: dict[str, Any]) -> dict[str, Any]:
    coordinates = value.get("coordinates")
    if not isinstance(coordinates, list) or not all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(c, int | float) for c in p) for p in coordinates
    ):
        raise ParseError(INCORRECT_TYPE, "This is not a valid Polygon")
    points = [list(p) for p in coordinates]
    if len({tuple(p) for p in points}) < 3:
        raise ParseError(INVALID_JSON, "Polygon must have at least 3 distinct points.")
    if points[0] != points[-1]:
        points.append(points[0])
    return {"__type": "Polygon", "coordinates": points}


def encode_typed(value: dict[str, Any]) -> dict[str, Any]:
    """Validate and normalize a ``{"__type": ...}`` value for storage."""
    kind = value.get("__type")
    if kind == "Date":
        return {"__type": "Date", "iso": format_date(parse_date(value))}
    if kind == "Pointer":
        if not isinstance(value.get("className"), str) or not isinstance(value.get("objectId"), str):
            raise ParseError(INCORRECT_TYPE, "This is not a valid Pointer")
        return {"__type": "Pointer", "className": value["className"], "objectId": value["objectId"]}
    if kind == "File":
        if not isinstance(value.get("name"), str) or not value["name"]:
            raise ParseError(INCORRECT_TYPE, "This is not a valid File")
        return {"__type": "File", "name": value["name"]}
    if kind == "GeoPoint":
        return _geo_point(value)
    if kind == "Polygon":
        return _polygon(value)
    if kind == "Bytes":
        if not isinstance(value.get("base64"), str):
            raise ParseError(INCORRECT_TYPE, "This is not a valid Bytes")
        return {"__type": "Bytes", "base64": value["base64"]}
    _check_nested_keys(value)
    return value


def encode_value(value: Any) -> Any:
    """Normalize any value for storage, recursing into arrays (which may hold dates, pointers...)."""
    if isinstance(value, str):
        if "\x00" in value:
            # PostgreSQL's jsonb cannot hold U+0000; say so instead of failing in the database.
            raise ParseError(INVALID_JSON, "Strings cannot contain the NUL character (\\u0000).")
        return value
    if isinstance(value, dict):
        if "__type" in value:
            return encode_typed(value)
        _check_nested_keys(value)
        return value
    if isinstance(value, list):
        return [encode_value(item) for item in value]
    return value
