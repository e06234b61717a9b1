"""JSON values as the SQL compiler sees them: the stored form, jsonb equality, containment and text.

The change feed publishes objects in the wire form (hangar.datastore.wire); the SQL
compiler reads the stored form (docs/datastore.md). The two differ only where
``row_to_wire`` adds something: a File's ``url`` and the ``{"__type": "Relation"}``
placeholder of a relation field, which is not in ``data`` at all.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, Final

from hangar.datastore.query.literals import is_number, json_type


class _Missing:
    """A field the object does not have (SQL NULL from ``data->'f'``), unlike a JSON null."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()


def stored(value: Any) -> Any:
    """The stored form of a top-level wire value (MISSING for a relation field)."""
    if type(value) is dict:
        kind = value.get("__type")
        if kind == "File" and "name" in value:
            return {"__type": "File", "name": value["name"]}
        if kind == "Relation":
            return MISSING
        return value
    if type(value) is list and any(type(item) in (dict, list) for item in value):
        return [_stored_element(item) for item in value]
    return value


def _stored_element(value: Any) -> Any:
    if type(value) is dict and value.get("__type") == "File" and "name" in value:
        return {"__type": "File", "name": value["name"]}
    if type(value) is list:
        return [_stored_element(item) for item in value]
    return value


def json_equal(left: Any, right: Any) -> bool:
    """jsonb ``=``: same JSON type and value; numbers compare numerically."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if is_number(left):
        return is_number(right) and left == right
    if isinstance(left, str):
        return isinstance(right, str) and left == right
    if left is None:
        return right is None
    if isinstance(left, list):
        return (
            isinstance(right, list)
            and len(left) == len(right)
            and all(json_equal(a, b) for a, b in zip(left, right, strict=True))
        )
    if isinstance(left, dict):
        return (
            isinstance(right, dict)
            and left.keys() == right.keys()
            and all(json_equal(item, right[key]) for key, item in left.items())
        )
    return False


def json_contains(container: Any, contained: Any) -> bool:
    """jsonb ``container @> contained`` for a container on the right (the only use the compiler makes)."""
    if isinstance(contained, dict):
        return isinstance(container, dict) and all(
            key in container and json_contains(container[key], item) for key, item in contained.items()
        )
    if isinstance(contained, list):
        return isinstance(container, list) and all(
            any(json_contains(element, item) for element in container) for item in contained
        )
    return json_equal(container, contained)


def as_text(value: Any) -> str | None:
    """The text of a JSON value as ``->>`` returns it (None for a JSON null or a missing value)."""
    if value is None or value is MISSING:
        return None
    if isinstance(value, str):
        return value
    return _json_text(value)


def _json_text(value: Any) -> str:
    """jsonb's output: ``", "``/``": "`` separators, object keys shortest first then bytewise."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format(Decimal(repr(value)), "f")
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, list):
        return "[" + ", ".join(_json_text(item) for item in value) + "]"
    keys = sorted(value, key=lambda key: (len(key.encode()), key.encode()))
    return "{" + ", ".join(f"{_quote(key)}: {_json_text(value[key])}" for key in keys) + "}"


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


json_kind = json_type  # PostgreSQL's jsonb_typeof, as the SQL side names it


def schema_type(value: Any) -> str | None:
    """The schema type a stored top-level value implies (a class holds one type per field)."""
    if isinstance(value, list):
        return "Array"
    if isinstance(value, dict):
        kind = value.get("__type")
        return kind if kind in ("Pointer", "Date", "GeoPoint", "File", "Polygon", "Bytes") else "Object"
    if isinstance(value, str):
        return "String"
    if isinstance(value, bool):
        return "Boolean"
    return "Number" if is_number(value) else None
