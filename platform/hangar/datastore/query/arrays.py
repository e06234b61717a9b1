"""Operators on Array fields: containment, any-of, ``$all`` and ``$containedBy``.

Arrays are jsonb arrays in ``data``; containment (``@>``) is the expression of
docs/datastore.md. Element-wise tests unnest with ``jsonb_array_elements`` behind a
type guard, because unnesting a non-array raises instead of returning no rows.
"""

from __future__ import annotations

import json
from typing import Any

from hangar.datastore.query import relations
from hangar.datastore.query.context import FALSE, Scope, Sql, and_all, concat, or_all, sql
from hangar.datastore.query.fields import FieldRef
from hangar.datastore.query.literals import is_pointer, json_param
from hangar.datastore.query.regex import translate_regex
from hangar.parse_errors import INVALID_JSON, ParseError


def elements(ref: FieldRef, function: str = "jsonb_array_elements") -> str:
    """A set-returning call over the field's elements (none when it is not an array)."""
    return f"{function}(CASE WHEN jsonb_typeof({ref.json}) = 'array' THEN {ref.json} ELSE '[]'::jsonb END)"


def any_element(ref: FieldRef, condition: Sql, function: str = "jsonb_array_elements") -> Sql:
    """True when some element (``elem.item``) satisfies ``condition``."""
    return concat(f"EXISTS (SELECT 1 FROM {elements(ref, function)} AS elem(item) WHERE ", condition, ")")


def array_equals(ref: FieldRef, value: Any) -> Sql:
    """Equality on an Array field: the array contains the value (or is exactly that list)."""
    contains = sql(f"{ref.json} @> %s::jsonb", json_param([value]))
    if isinstance(value, list):
        return or_all([sql(f"{ref.json} = %s::jsonb", json_param(value)), contains])
    return contains


def array_has_any(ref: FieldRef, items: list[Any]) -> Sql:
    """``$in`` on an Array field: some element is in the list."""
    if not items:
        return FALSE
    if all(isinstance(item, str) for item in items):
        return sql(f"{ref.json} ?| %s::text[]", items)
    return any_element(ref, sql("elem.item = ANY(%s::jsonb[])", [json_param(item) for item in items]))


def all_of(scope: Scope, ref: FieldRef, values: Any) -> Sql:
    """``$all``: every value is an element; or every ``{"$regex"}`` matches some element."""
    if not isinstance(values, list):
        raise ParseError(INVALID_JSON, "bad $all value")
    scope.state.charge(len(values))
    if not values:
        return FALSE
    regexes = [_is_regex(value) for value in values]
    if any(regexes):
        if not all(regexes):
            raise ParseError(INVALID_JSON, f"All $all values must be of regex type or none: {json.dumps(values)}")
        return and_all(_element_matches(ref, value) for value in values)
    if ref.type == "Relation" and all(is_pointer(value) for value in values):
        return and_all(relations.relation_holds_any(scope, ref, [value]) for value in values)
    return sql(f"{ref.json} @> %s::jsonb", json_param(values))


def _is_regex(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("$regex"), str)


def _element_matches(ref: FieldRef, value: dict[str, Any]) -> Sql:
    regex = translate_regex(value["$regex"], value.get("$options"))
    return any_element(ref, sql(f"elem.item {regex.operator} %s", regex.pattern), "jsonb_array_elements_text")


def contained_by(scope: Scope, ref: FieldRef, values: Any) -> Sql:
    """``$containedBy``: every element of the Array field is in the list."""
    if not isinstance(values, list):
        raise ParseError(INVALID_JSON, "bad $containedBy: should be an array")
    scope.state.charge(len(values))
    return sql(f"(jsonb_typeof({ref.json}) = 'array' AND {ref.json} <@ %s::jsonb)", json_param(values))
