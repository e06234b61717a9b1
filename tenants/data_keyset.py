"""Keyset paging of the data browser's grid by any sortable column, tie-broken by objectId.

A cursor is the last row's ``[value, objectId]``. "After it" is one or two Parse
``where``s the query compiler already understands, so a page is one or two ordinary
``find``s: no OFFSET, and as fast at page 10,000 as at page 1 when an index serves the
sort. The compiler sorts missing values (absent or null) last in both directions
(query/order.py), so after a row with a value come the rows beyond it and then every row
without one, and after a row without one come the rest of those, ordered by objectId.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

from hangar.parse_errors import INVALID_QUERY, ParseError

# Never-null columns every class has; their pages use an outer range the index can scan from.
FIXED_SORT_KEYS = ("createdAt", "updatedAt", "objectId")
DATE_COLUMNS = frozenset({"createdAt", "updatedAt"})
# Types the grid sorts by: the compiler orders them by value, and $lt/$gt compare them the same way.
SORTABLE_TYPES = frozenset({"String", "Number", "Date", "Boolean"})
_STALE = "This page link is not valid any more; start from the first page."


def sortable_columns(fields: dict[str, dict[str, Any]]) -> list[str]:
    """The columns of this schema the grid can sort by (objectId and the timestamps first)."""
    own = [name for name, spec in fields.items() if name not in FIXED_SORT_KEYS and spec["type"] in SORTABLE_TYPES]
    return [*FIXED_SORT_KEYS, *own]


def sort_check(sort: str, fields: dict[str, dict[str, Any]]) -> str:
    """The sort if the grid can page by it (``name`` or ``-name``); 102 with the choices otherwise."""
    key = sort.removeprefix("-")
    if key in FIXED_SORT_KEYS:
        return sort
    spec = fields.get(key)
    if spec is None:
        raise ParseError(INVALID_QUERY, f"There is no column {key!r} to sort by.")
    if spec["type"] not in SORTABLE_TYPES:
        choices = ", ".join(sorted(SORTABLE_TYPES))
        raise ParseError(INVALID_QUERY, f"A {spec['type']} column cannot be sorted; sort a {choices} column.")
    return sort


def order_of(sort: str) -> str:
    """The Parse ``order`` for the sort with objectId as the tie-breaker, in the same direction."""
    if sort.removeprefix("-") == "objectId":
        return sort
    return f"{sort},{'-objectId' if sort.startswith('-') else 'objectId'}"


def cursor_encode(row: dict[str, Any], sort: str) -> str:
    value = row.get(sort.removeprefix("-"))
    if isinstance(value, dict):
        value = value.get("iso")  # a Date: the cursor keeps its ISO text
    return base64.urlsafe_b64encode(orjson.dumps([value, row["objectId"]])).decode().rstrip("=")


def _cursor_decode(cursor: str) -> tuple[Any, str]:
    try:
        value, object_id = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, TypeError) as exc:
        raise ParseError(INVALID_QUERY, _STALE) from exc
    if not isinstance(object_id, str) or isinstance(value, dict | list):
        raise ParseError(INVALID_QUERY, _STALE)
    return value, object_id


def _date(iso: str) -> dict[str, str]:
    return {"__type": "Date", "iso": iso}


def after_parts(sort: str, cursor: str, fields: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The ``where``s of the rows after the cursor's row in ``sort`` order, to be read one after the other.

    After a row with a value of a custom column come (1) the rows beyond it, bounded so that
    an index range scan starts at the cursor, then (2) every row without a value (missing
    values sort last). Two plain queries: one condition OR-ing "missing" in would keep an
    index on the column from serving the page.
    """
    value, object_id = _cursor_decode(cursor)
    key, descending = sort.removeprefix("-"), sort.startswith("-")
    beyond, bound = ("$lt", "$lte") if descending else ("$gt", "$gte")
    if key == "objectId":
        return [{"objectId": {beyond: object_id}}]
    is_date = key in DATE_COLUMNS or fields.get(key, {}).get("type") == "Date"
    if (is_date and value is not None and not isinstance(value, str)) or (key in DATE_COLUMNS and value is None):
        raise ParseError(INVALID_QUERY, _STALE)
    missing = {key: {"$exists": False}}
    if value is None:  # among the rows without a value, which come last: objectId alone orders them
        return [{**missing, "objectId": {beyond: object_id}}]
    typed = _date(value) if is_date else value
    # The outer bound (<= or >=) lets the index range scan start at the cursor; the $or drops its ties.
    ties = {"$or": [{key: {beyond: typed}}, {key: typed, "objectId": {beyond: object_id}}]}
    valued = {"$and": [{key: {bound: typed}}, ties]}
    return [valued] if key in DATE_COLUMNS else [valued, missing]
