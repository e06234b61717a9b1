"""Pipeline stages other than ``$group``: each wraps the rows before it in one sub-select.

``$match`` is compiled by the query compiler (docs/datastore.md "How ``where`` becomes
SQL"); over object rows it also accepts the plain strings Parse Server's MongoDB
adapter accepts in a ``$match``: an objectId for a Pointer field and an ISO string for
a Date field.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from hangar.datastore.aggregate.fields import field_named, output_name, sort_value
from hangar.datastore.aggregate.group import group_stage
from hangar.datastore.aggregate.relation import COLUMNS, NO_DATES, PipelineContext, Projection, Relation, invalid, shown
from hangar.datastore.query import compile_query
from hangar.datastore.query.context import Sql, concat, sql
from hangar.datastore.query.fields import check_field_name
from hangar.parse_errors import INVALID_QUERY, ParseError

Stage = Callable[[PipelineContext, Relation, Any, str], Relation]

_SYSTEM_FIELDS = frozenset({"objectId", "createdAt", "updatedAt"})
_LOGICAL = frozenset({"$or", "$and", "$nor"})
_VALUE_OPERATORS = frozenset({"$eq", "$ne", "$gt", "$gte", "$lt", "$lte"})
_LIST_OPERATORS = frozenset({"$in", "$nin"})
_MAX_ROWS = 2**62  # keeps $limit/$skip inside bigint


def match_stage(ctx: PipelineContext, rel: Relation, where: Any, alias: str) -> Relation:
    if not isinstance(where, dict):
        raise invalid("match", f"Expected a query object but got {shown(where)}.")
    if rel.grouped:
        _refuse_dates_after_group(where)
    else:
        where = _wire_literals(where, rel.fields)
    compiled = compile_query(class_name=ctx.class_name, where=where, order=None, context=ctx.query_context(rel))
    condition = Sql(compiled.where_sql, tuple(compiled.params))
    return replace(rel, sql=concat(f"SELECT {rel.columns} FROM (", rel.sql, f") AS {alias} WHERE (", condition, ")"))


def sort_stage(ctx: PipelineContext, rel: Relation, spec: Any, alias: str) -> Relation:
    if not isinstance(spec, dict) or not spec:
        raise invalid("sort", "Expected an object of field names and 1 or -1.")
    entries: list[tuple[str, bool]] = []
    for name, direction in spec.items():
        if isinstance(direction, bool) or direction not in (1, -1):
            raise ParseError(INVALID_QUERY, "$sort key ordering must be 1 (for ascending) or -1 (for descending)")
        check_field_name(name)
        entries.append((name, direction == -1))
    terms = _document_order(ctx, rel, entries) if rel.grouped else _object_order(ctx, rel, entries)
    if terms is None:  # only fields the class does not have: nothing to order by, as in find
        return rel
    statement = concat(
        f"SELECT {COLUMNS}, row_number() OVER (ORDER BY ", terms, ") AS _pos FROM (", rel.sql, f") AS {alias}"
    )
    return replace(rel, sql=statement, ordered=True)


def _object_order(ctx: PipelineContext, rel: Relation, entries: list[tuple[str, bool]]) -> Sql | None:
    """The compiler's ORDER BY for object rows (typed, byte-wise strings, objectId tie-breaker)."""
    order = [f"-{name}" if descending else name for name, descending in entries]
    compiled = compile_query(class_name=ctx.class_name, where={}, order=order, context=ctx.query_context(rel))
    return Sql(compiled.order_sql, tuple(compiled.order_params)) if compiled.order_sql else None


def _document_order(ctx: PipelineContext, rel: Relation, entries: list[tuple[str, bool]]) -> Sql:
    terms = [
        f"{sort_value(field_named(ctx, rel, name))} {'DESC' if descending else 'ASC'} NULLS LAST"
        for name, descending in entries
    ]
    return Sql(", ".join(terms))


def limit_stage(ctx: PipelineContext, rel: Relation, value: Any, alias: str) -> Relation:
    count = _row_count(value, "limit", minimum=1)
    statement = concat(f"SELECT {rel.columns} FROM (", rel.sql, f") AS {alias}{rel.order_by} ", sql("LIMIT %s", count))
    return replace(rel, sql=statement)


def skip_stage(ctx: PipelineContext, rel: Relation, value: Any, alias: str) -> Relation:
    count = _row_count(value, "skip", minimum=0)
    statement = concat(f"SELECT {rel.columns} FROM (", rel.sql, f") AS {alias}{rel.order_by} ", sql("OFFSET %s", count))
    return replace(rel, sql=statement)


def _row_count(value: Any, stage: str, *, minimum: int) -> int:
    number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if number is None or not math.isfinite(number) or number != int(number) or not minimum <= number <= _MAX_ROWS:
        kind = "a positive" if minimum else "a non-negative"
        raise invalid(stage, f"Expected {kind} integer but got {shown(value)}.")
    return int(number)


def project_stage(ctx: PipelineContext, rel: Relation, spec: Any, alias: str) -> Relation:
    """``{field: 1, ...}`` keeps those fields (and objectId unless ``objectId: 0``); ``{field: 0}`` drops them."""
    if not isinstance(spec, dict) or not spec:
        raise invalid("project", "Expected an object of field names and 1 or 0.")
    included: set[str] = set()
    excluded: set[str] = set()
    for name, flag in spec.items():
        output_name(name)
        if flag not in (0, 1):  # True/False count as 1/0; expressions are not supported
            raise invalid("project", f"Only 1 (keep) and 0 (drop) are supported; got {shown(flag)} for {name}.")
        (included if flag else excluded).add(name)
    if included - {"objectId"} and excluded - {"objectId"}:
        raise invalid("project", "Cannot mix fields to keep and fields to drop (other than objectId).")
    include = bool(included)
    keys = frozenset(included | ({"objectId"} - excluded)) if include else frozenset(excluded)
    data_keys = sorted(keys if rel.grouped else keys - _SYSTEM_FIELDS)
    if include:
        data = sql("COALESCE((SELECT jsonb_object_agg(e.key, e.value) FROM jsonb_each(data) AS e "
                   "WHERE e.key = ANY(%s::text[])), '{}'::jsonb)", data_keys)  # fmt: skip
    else:
        data = sql("(data - %s::text[])", data_keys)
    statement = concat("SELECT object_id, ", data, " AS data, created_at, updated_at",
                       ", _pos" if rel.ordered else "", " FROM (", rel.sql, f") AS {alias}")  # fmt: skip
    if rel.grouped:
        fields = {name: field for name, field in rel.fields.items() if (name in keys) == include}
        return replace(rel, sql=statement, fields=fields)
    return replace(rel, sql=statement, projections=(*rel.projections, Projection(keys, include)))


def count_stage(ctx: PipelineContext, rel: Relation, name: Any, alias: str) -> Relation:
    """``{"$count": "total"}`` -> one document ``{"total": N}`` (none for no rows, as in MongoDB)."""
    if not isinstance(name, str):
        raise invalid("count", f"Expected the name of the count field but got {shown(name)}.")
    document = sql("jsonb_build_object(%s::text, count(*))", output_name(name))
    statement = concat(
        "SELECT NULL::text AS object_id, ", document, f" AS data, {NO_DATES} FROM (", rel.sql,
        f") AS {alias} HAVING count(*) > 0",
    )  # fmt: skip
    return Relation(statement, fields={name: {"type": "Number"}}, grouped=True)


STAGES: dict[str, Stage] = {
    "$match": match_stage,
    "$group": group_stage,
    "$sort": sort_stage,
    "$limit": limit_stage,
    "$skip": skip_stage,
    "$project": project_stage,
    "$count": count_stage,
}


def _refuse_dates_after_group(where: dict[str, Any]) -> None:
    """createdAt/updatedAt name the object columns in the compiler; documents of $group have none."""
    for key, value in where.items():
        if key in _LOGICAL and isinstance(value, list):
            for clause in value:
                if isinstance(clause, dict):
                    _refuse_dates_after_group(clause)
        elif key in ("createdAt", "updatedAt"):
            raise invalid("match", f"{key} cannot be matched after $group or $count; name the accumulator differently.")


def _wire_literals(where: dict[str, Any], fields: Mapping[str, Any]) -> dict[str, Any]:
    """Plain strings for Pointer and Date fields -> the wire objects the compiler compares."""
    converted: dict[str, Any] = {}
    for key, value in where.items():
        if key in _LOGICAL and isinstance(value, list):
            converted[key] = [_wire_literals(c, fields) if isinstance(c, dict) else c for c in value]
        else:
            converted[key] = _convert_operand(value, _literal_wrapper(key, fields))
    return converted


def _literal_wrapper(key: str, fields: Mapping[str, Any]) -> Callable[[str], dict[str, Any]] | None:
    spec = fields.get(key) if isinstance(key, str) else None
    field_type = spec.get("type") if isinstance(spec, dict) else None
    if key in ("createdAt", "updatedAt") or field_type == "Date":
        return lambda text: {"__type": "Date", "iso": text}
    target = spec.get("targetClass") if isinstance(spec, dict) else None
    if field_type == "Pointer" and isinstance(target, str):
        return lambda text: {"__type": "Pointer", "className": target, "objectId": text}
    return None


def _convert_operand(value: Any, wrap: Callable[[str], dict[str, Any]] | None) -> Any:
    if wrap is None:
        return value
    if isinstance(value, str):
        return wrap(value)
    if not isinstance(value, dict):
        return value
    converted = dict(value)
    for operator, operand in value.items():
        if operator in _VALUE_OPERATORS and isinstance(operand, str):
            converted[operator] = wrap(operand)
        elif operator in _LIST_OPERATORS and isinstance(operand, list):
            converted[operator] = [wrap(item) if isinstance(item, str) else item for item in operand]
    return converted
