"""Compile a Parse ``where`` (and ``order``) into one parameterised SQL condition.

The condition ranges over the columns of ``datastore_object`` (docs/datastore.md); the
caller adds the app, class and ACL filters. User values only ever travel as bind
parameters; field names reach the SQL text only after validation (fields.py).
Semantics follow the protocol reference §8 and Parse Server on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hangar.datastore.query import arrays, comparisons, geo, relations, subqueries, text
from hangar.datastore.query.context import (
    CompiledQuery,
    CompileState,
    QueryContext,
    Scope,
    Sql,
    and_all,
    negate,
    or_all,
)
from hangar.datastore.query.fields import FieldRef, where_field
from hangar.datastore.query.order import compile_order, text_score
from hangar.parse_errors import INVALID_JSON, INVALID_KEY_NAME, INVALID_QUERY, ParseError

# operator -> handler(scope, field, operand, whole constraint object)
Handler = Callable[[Scope, FieldRef, Any, dict[str, Any]], Sql]


def _simple(function: Callable[[Scope, FieldRef, Any], Sql]) -> Handler:
    return lambda scope, ref, operand, constraint: function(scope, ref, operand)


def _ordered(operator: str) -> Handler:
    return lambda scope, ref, operand, constraint: comparisons.compare(scope, ref, operator, operand)


OPERATORS: dict[str, Handler] = {
    "$eq": _simple(comparisons.equals),
    "$ne": _simple(comparisons.not_equals),
    **{operator: _ordered(operator) for operator in comparisons.COMPARATORS},
    "$in": _simple(comparisons.in_list),
    "$nin": _simple(comparisons.not_in_list),
    "$exists": lambda scope, ref, operand, constraint: comparisons.exists_constraint(ref, operand),
    "$all": _simple(arrays.all_of),
    "$containedBy": _simple(arrays.contained_by),
    "$regex": text.regex_match,
    "$text": _simple(text.text_search),
    "$inQuery": _simple(subqueries.in_query),
    "$notInQuery": _simple(subqueries.not_in_query),
    "$select": _simple(subqueries.select),
    "$dontSelect": _simple(subqueries.dont_select),
    "$nearSphere": geo.near_sphere,
    "$within": _simple(geo.within_box),
    "$geoWithin": _simple(geo.geo_within),
    "$geoIntersects": _simple(geo.geo_intersects),
}
# Read by the operator they qualify ($regex, $nearSphere); alone they change nothing.
COMPANIONS = frozenset({"$options", *geo.DISTANCE_KEYS})
LOGICAL = {"$or": or_all, "$and": and_all, "$nor": lambda parts: negate(or_all(parts))}


def compile_query(
    *, class_name: str, where: Any, order: str | list[str] | None, context: QueryContext
) -> CompiledQuery:
    """Compile ``where`` and ``order`` for a query on ``class_name`` (raises ParseError)."""
    state = CompileState(context)
    scope = Scope(state, class_name, context.schemas.get(class_name) or {})
    if where is None:
        where = {}
    if not isinstance(where, dict):
        raise ParseError(INVALID_QUERY, "where must be a JSON object")
    condition = compile_where(scope, where)
    order_sql, order_params = compile_order(scope, order)
    check_params(condition.params)
    check_params(order_params)
    score = text_score(state)
    return CompiledQuery(
        where_sql=condition.text,
        params=list(condition.params),
        order_sql=order_sql,
        order_params=order_params,
        subquery_classes=frozenset(state.subquery_classes),
        referenced_fields=frozenset(state.referenced_fields),
        score_sql=score.text if score else None,
        score_params=list(score.params) if score else [],
    )


def compile_where(scope: Scope, where: dict[str, Any]) -> Sql:
    """One where object: its keys ANDed."""
    if "ACL" in where:
        raise ParseError(INVALID_QUERY, "Cannot query on ACL.")
    parts = []
    for key, value in where.items():
        scope.state.charge()
        if key in LOGICAL:
            parts.append(_logical(scope, key, value))
        elif key == "$relatedTo":
            parts.append(relations.related_to(scope, value))
        elif not isinstance(key, str) or key.startswith("$"):
            raise ParseError(INVALID_KEY_NAME, f"Invalid key name: {key}")
        else:
            parts.append(_field(scope, where_field(scope, key), value))
    return and_all(parts)


def _logical(scope: Scope, operator: str, clauses: Any) -> Sql:
    if not isinstance(clauses, list) or not all(isinstance(clause, dict) for clause in clauses):
        raise ParseError(INVALID_QUERY, f"Bad {operator} format - use an array value.")
    if operator == "$nor" and not clauses:
        raise ParseError(INVALID_QUERY, "Bad $nor format - use an array of at least 1 value.")
    nested = scope.nested()
    return LOGICAL[operator]([compile_where(nested, clause) for clause in clauses])


def _field(scope: Scope, ref: FieldRef, value: Any) -> Sql:
    if not _is_constraint(value):
        return comparisons.equals(scope, ref, value)
    parts = []
    for operator, operand in value.items():
        if operator in COMPANIONS:
            continue
        handler = OPERATORS.get(operator)
        if handler is None:
            raise ParseError(INVALID_JSON, f"bad constraint: {operator}")
        scope.state.charge()
        parts.append(handler(scope, ref, operand, value))
    return and_all(parts)


def _is_constraint(value: Any) -> bool:
    """An object of operators (a key starts with ``$``) rather than an Object literal."""
    return isinstance(value, dict) and any(isinstance(key, str) and key.startswith("$") for key in value)


def check_params(params: Any) -> None:
    """Refuse text PostgreSQL cannot take (NUL, unpaired surrogates) as a Parse error, not a 500."""
    for param in params:
        if isinstance(param, list | tuple):
            check_params(param)
        elif isinstance(param, str):
            check_text(param)


def check_text(text: str) -> None:
    """One query value's text: no NUL, valid Unicode (also the LiveQuery matcher's rule)."""
    if "\x00" in text:
        raise ParseError(INVALID_QUERY, "Query values cannot contain the NUL character.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ParseError(INVALID_JSON, "Query values must be valid Unicode text.") from None
