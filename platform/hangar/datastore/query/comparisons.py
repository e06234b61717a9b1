"""Equality, ordering, membership and existence (protocol reference §8.1).

The expression depends on the schema type so that typed fields compare with the
indexable expressions of docs/datastore.md; a value whose JSON type does not fit the
field (or a field missing from the schema) falls back to a jsonb comparison guarded by
``jsonb_typeof``, which is correct for any content and never raises a cast error.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hangar.datastore.dates import format_date, parse_date
from hangar.datastore.query import arrays, relations
from hangar.datastore.query.context import FALSE, Scope, Sql, negate, or_all, sql
from hangar.datastore.query.fields import FieldRef
from hangar.datastore.query.literals import (
    is_date,
    is_number,
    is_pointer,
    is_relative_time,
    json_param,
    json_type,
    number_param,
    numeric_list,
    wire_type,
)
from hangar.datastore.query.relative_time import RelativeTimeError, relative_time_to_date
from hangar.parse_errors import INVALID_JSON, ParseError

COMPARATORS = {"$lt": "<", "$lte": "<=", "$gt": ">", "$gte": ">="}
_RELATIVE_ONLY_ORDERED = "$relativeTime can only be used with the $lt, $lte, $gt, and $gte operators"


def exists(ref: FieldRef) -> Sql:
    return sql(ref.exists)


def missing(ref: FieldRef) -> Sql:
    return FALSE if ref.column else sql(f"(NOT {ref.exists})")


def equals(scope: Scope, ref: FieldRef, value: Any) -> Sql:
    """A literal or ``$eq``: Array fields contain the value, Relation fields hold the object."""
    if value is None:
        return missing(ref)
    if is_relative_time(value):
        raise ParseError(INVALID_JSON, _RELATIVE_ONLY_ORDERED)
    if ref.column:
        return _column_equals(ref, value)
    if ref.type == "Relation":
        return relations.relation_holds_any(scope, ref, [value])
    if ref.type == "Array":
        return arrays.array_equals(ref, value)
    return _value_equals(ref, value)


def not_equals(scope: Scope, ref: FieldRef, value: Any) -> Sql:
    return negate(equals(scope, ref, value))


def _column_equals(ref: FieldRef, value: Any) -> Sql:
    if ref.column == "object_id":
        return sql("object_id = %s", value) if isinstance(value, str) else FALSE
    moment = date_operand(ref, value)
    return sql(f"{ref.column} = %s", moment) if moment else FALSE


def date_operand(ref: FieldRef, value: Any) -> datetime | None:
    """The moment a value denotes: a Date object, or on a Date field also an ISO string (Postgres casts those)."""
    if isinstance(value, datetime) or is_date(value):
        return parse_date(value)
    if isinstance(value, str) and ref.type == "Date":
        try:
            return parse_date(value)
        except ParseError:
            return None
    return None


# Equality under a deterministic collation is byte equality, so COLLATE "C" changes no
# result; it lets the "C" expression indexes of strings and dates (hangar.datastore.indexes),
# which also serve ranges and ORDER BY, serve equality and $in too.
def _value_equals(ref: FieldRef, value: Any) -> Sql:
    if ref.type == "Pointer" and is_pointer(value):
        if ref.target_class and value["className"] != ref.target_class:
            return FALSE
        return sql(f"{ref.member('objectId')} = %s", value["objectId"])
    moment = date_operand(ref, value)
    if moment:
        return sql(f'{ref.member("iso")} COLLATE "C" = %s', format_date(moment))
    if wire_type(value) == "File" and isinstance(value.get("name"), str):
        return sql(f"{ref.member('name')} = %s", value["name"])
    if ref.type == "String" and isinstance(value, str):
        return sql(f'{ref.text} COLLATE "C" = %s', value)
    if ref.type == "Number" and is_number(value):
        return sql(f"{ref.number} = %s::numeric", number_param(value))
    return sql(f"{ref.json} = %s::jsonb", json_param(value))


def compare(scope: Scope, ref: FieldRef, operator: str, value: Any) -> Sql:
    """``$lt``/``$lte``/``$gt``/``$gte`` on numbers, strings (byte order) and dates."""
    symbol = COMPARATORS[operator]
    if is_relative_time(value):
        value = _resolve_relative_time(ref, operator, value)
    if ref.column == "object_id":
        return sql(f'object_id COLLATE "C" {symbol} %s', value) if isinstance(value, str) else FALSE
    moment = date_operand(ref, value)
    if ref.is_date_column:
        return sql(f"{ref.column} {symbol} %s", moment) if moment else FALSE
    if moment:
        return sql(f'{ref.member("iso")} COLLATE "C" {symbol} %s', format_date(moment))
    if ref.type == "Number" and is_number(value):
        return sql(f"{ref.number} {symbol} %s::numeric", number_param(value))
    if isinstance(value, str):
        guard = "" if ref.type == "String" else f"jsonb_typeof({ref.json}) = 'string' AND "
        return sql(f'({guard}{ref.text} COLLATE "C" {symbol} %s)', value)
    if value is None:
        return FALSE
    return sql(
        f"(jsonb_typeof({ref.json}) = '{json_type(value)}' AND {ref.json} {symbol} %s::jsonb)", json_param(value)
    )


def _resolve_relative_time(ref: FieldRef, operator: str, value: dict[str, Any]) -> Any:
    if ref.type not in (None, "Date"):
        raise ParseError(INVALID_JSON, "$relativeTime can only be used with Date field")
    text = value["$relativeTime"]
    try:
        if not isinstance(text, str):
            raise RelativeTimeError("The value should be a string.")
        return relative_time_to_date(text)
    except RelativeTimeError as error:
        raise ParseError(INVALID_JSON, f"bad $relativeTime ({operator}) value. {error}") from None


def in_list(scope: Scope, ref: FieldRef, values: Any, operator: str = "$in") -> Sql:
    """``$in``: the value is one of the list (Array fields: any element is)."""
    if not isinstance(values, list):
        raise ParseError(INVALID_JSON, f"bad {operator} value")
    items = [element for item in values for element in (item if isinstance(item, list) else [item])]
    scope.state.charge(len(items))
    if any(is_relative_time(item) for item in items):
        raise ParseError(INVALID_JSON, _RELATIVE_ONLY_ORDERED)
    present = [item for item in items if item is not None]
    if ref.type == "Relation":
        matched = relations.relation_holds_any(scope, ref, present)
    elif ref.type == "Array":
        matched = arrays.array_has_any(ref, present)
    else:
        matched = _value_in(ref, present)
    return or_all([matched, missing(ref)]) if len(present) < len(items) else matched


def not_in_list(scope: Scope, ref: FieldRef, values: Any) -> Sql:
    return negate(in_list(scope, ref, values, "$nin"))


def _value_in(ref: FieldRef, items: list[Any]) -> Sql:
    if ref.column:
        return _column_in(ref, items)
    if not items:
        return FALSE
    if ref.type == "Pointer" and all(is_pointer(item) for item in items):
        ids = [item["objectId"] for item in items if item["className"] == (ref.target_class or item["className"])]
        return sql(f"{ref.member('objectId')} = ANY(%s::text[])", ids) if ids else FALSE
    if ref.type == "Date":
        moments = [date_operand(ref, item) for item in items]
        if all(moments):
            return sql(f'{ref.member("iso")} COLLATE "C" = ANY(%s::text[])', [format_date(m) for m in moments if m])
    if ref.type == "String" and all(isinstance(item, str) for item in items):
        return sql(f'{ref.text} COLLATE "C" = ANY(%s::text[])', items)
    if ref.type == "Number" and all(is_number(item) for item in items):
        return sql(f"{ref.number} = ANY(%s::numeric[])", numeric_list(items))
    return sql(f"{ref.json} = ANY(%s::jsonb[])", [json_param(item) for item in items])


def _column_in(ref: FieldRef, items: list[Any]) -> Sql:
    if ref.column == "object_id":
        ids = [item for item in items if isinstance(item, str)]
        return sql("object_id = ANY(%s::text[])", ids) if ids else FALSE
    dates = [moment for moment in (date_operand(ref, item) for item in items) if moment]
    return sql(f"{ref.column} = ANY(%s::timestamptz[])", dates) if dates else FALSE


def exists_constraint(ref: FieldRef, value: Any) -> Sql:
    """``$exists``: present and not null (Postgres adapter semantics), or absent."""
    return exists(ref) if value else missing(ref)
