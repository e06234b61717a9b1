"""Reading a where key's value out of a wire object, as the SQL compiler reads the stored row."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hangar.datastore.dates import parse_date
from hangar.datastore.query.fields import COLUMNS, SEGMENT
from hangar.parse_errors import INVALID_KEY_NAME, INVALID_QUERY, ParseError
from hangar.realtime.matching.values import MISSING, stored

Getter = Callable[[dict[str, Any]], Any]


@dataclass(frozen=True)
class Field:
    """A validated where key: a system column, a top-level field or a dotted path into an object."""

    name: str
    get: Getter  # the stored value, or MISSING
    column: str | None = None  # "objectId", "createdAt" or "updatedAt"
    dotted: bool = False

    @property
    def is_date_column(self) -> bool:
        return self.column in ("createdAt", "updatedAt")

    def is_missing(self, value: Any) -> bool:
        """``NOT exists``: absent; inside objects also a JSON null (``#>>`` gives NULL for both)."""
        if self.column:
            return False
        return value is MISSING or (self.dotted and value is None)


def where_field(key: str) -> Field:
    """Validate a where key (105 ``Invalid key name``, 102 for ACL) and build its getter."""
    path = key.split(".")
    if path[0] == "ACL":
        raise ParseError(INVALID_QUERY, "Cannot query on ACL.")
    if not all(SEGMENT.fullmatch(segment) for segment in path):
        raise ParseError(INVALID_KEY_NAME, f"Invalid key name: {key}")
    if len(path) == 1 and key in COLUMNS:
        return Field(key, _column_getter(key), column=key)
    if len(path) == 1:
        return Field(key, _top_getter(key))
    return Field(key, _path_getter(path), dotted=True)


def _column_getter(name: str) -> Getter:
    if name == "objectId":
        return lambda obj: obj.get("objectId", MISSING)

    def moment(obj: dict[str, Any]) -> datetime | Any:
        value = obj.get(name)
        if isinstance(value, str):
            return parse_date(value)
        if isinstance(value, dict):  # an object built elsewhere may carry {"__type": "Date"}
            return parse_date(value)
        return MISSING

    return moment


def _top_getter(name: str) -> Getter:
    def get(obj: dict[str, Any]) -> Any:
        value = obj.get(name, MISSING)
        return stored(value) if type(value) in (dict, list) else value

    return get


def _path_getter(path: list[str]) -> Getter:
    root, rest = path[0], path[1:]

    def get(obj: dict[str, Any]) -> Any:
        value = obj.get(root, MISSING)
        if root in COLUMNS or type(value) is not dict:
            return MISSING  # system columns are not in data; paths only enter objects
        value = stored(value)
        for segment in rest:
            if type(value) is not dict or segment not in value:
                return MISSING
            value = value[segment]
        return value

    return get
