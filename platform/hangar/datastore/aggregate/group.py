"""``$group`` -> GROUP BY (protocol reference §13.5).

``_id`` is null (one group), a field reference, a date part such as
``{"$year": "$createdAt"}``, or an object of those (a composite key). Accumulators:
``$sum`` (of a number literal or a Number field), ``$avg``, ``$min``, ``$max`` and
``$count: {}``. As in Parse Server, the key comes back as ``objectId``. Rows are first
reduced to one key column ``_k`` and one input column per accumulator, so the GROUP BY
is over a plain column.
"""

from __future__ import annotations

from typing import Any

from hangar.datastore.aggregate.fields import (
    Comparable,
    comparable,
    date_part,
    field_reference,
    key_json,
    number_value,
    output_name,
)
from hangar.datastore.aggregate.relation import NO_DATES, PipelineContext, Relation, invalid, shown
from hangar.datastore.query.context import Sql, concat, sql
from hangar.datastore.query.literals import is_number, number_param
from hangar.parse_errors import INVALID_QUERY, ParseError

MAX_GROUP_FIELDS = 40  # jsonb_build_object takes at most 100 arguments
_KEY_FORMS = (
    'null, a field reference such as "$name", a date part such as {"$year": "$createdAt"}, or an object of those'
)


def group_stage(ctx: PipelineContext, rel: Relation, spec: Any, alias: str) -> Relation:
    if not isinstance(spec, dict):
        raise invalid("group", "Expected an object with _id and accumulators.")
    check_group_keys(spec)
    if len(spec) > MAX_GROUP_FIELDS:
        raise invalid("group", f"At most {MAX_GROUP_FIELDS} fields are allowed.")
    key, key_type = _key(ctx, rel, spec["_id"])
    inputs: list[Sql] = [concat("NULLIF(", key, ", 'null'::jsonb) AS _k")]
    pairs: list[Sql] = []
    fields: dict[str, dict[str, Any]] = {"objectId": {"type": key_type} if key_type else {}}
    for index, (name, value) in enumerate(item for item in spec.items() if item[0] != "_id"):
        column = f"_a{index}"
        aggregate, source, out_type = _accumulator(ctx, rel, output_name(name), value, column)
        if source is not None:
            inputs.append(Sql(f"{source} AS {column}"))
        pairs.append(concat(sql("%s::text, ", name), aggregate))
        fields[name] = {"type": out_type} if out_type else {}
    document = _document(pairs)
    statement = concat(
        "SELECT CASE WHEN jsonb_typeof(_k) = 'string' THEN _k #>> '{}' END AS object_id, ", document,
        f" AS data, {NO_DATES} FROM (SELECT ", _joined(inputs), " FROM (", rel.sql, f") AS {alias}) AS {alias}_in",
        " GROUP BY _k",
    )  # fmt: skip
    return Relation(statement, fields=fields, grouped=True)


def check_group_keys(spec: dict[str, Any]) -> None:
    """The two checks Parse Server's AggregateRouter makes, with its messages."""
    if "objectId" in spec:
        raise ParseError(INVALID_QUERY, "Cannot use 'objectId' in aggregation stage $group.")
    if "_id" not in spec:
        raise ParseError(INVALID_QUERY, "Invalid parameter for query: group. Missing key _id")


def _key(ctx: PipelineContext, rel: Relation, value: Any) -> tuple[Sql, str | None]:
    if value is None or value == {}:
        return Sql("NULL::jsonb"), None
    if isinstance(value, str):
        expression, key_type = key_json(field_reference(ctx, rel, value, stage="group"))
        return Sql(expression), key_type
    if isinstance(value, dict) and len(value) == 1 and str(next(iter(value))).startswith("$"):
        return Sql(f"to_jsonb({date_part(ctx, rel, value)})"), "Number"
    if not isinstance(value, dict):
        raise invalid("group", f"_id must be {_KEY_FORMS}; got {shown(value)}.")
    if len(value) > MAX_GROUP_FIELDS:
        raise invalid("group", f"_id may have at most {MAX_GROUP_FIELDS} fields.")
    parts: list[Sql | str] = ["jsonb_build_object("]
    for index, (name, part) in enumerate(value.items()):
        if isinstance(part, dict) and len(part) == 1:
            expression = f"to_jsonb({date_part(ctx, rel, part)})"
        elif isinstance(part, str):
            expression = key_json(field_reference(ctx, rel, part, stage="group"))[0]
        else:
            raise invalid("group", f"_id must be {_KEY_FORMS}; got {shown(part)} for {output_name(name)}.")
        parts.extend([", " if index else "", sql("%s::text", output_name(name)), f", {expression}"])
    parts.append(")")
    return concat(*parts), "Object"


def _accumulator(
    ctx: PipelineContext, rel: Relation, name: str, value: Any, column: str
) -> tuple[Sql, str | None, str | None]:
    """(aggregate over ``column``, the per-row input or None, the result's type)."""
    if not isinstance(value, dict) or len(value) != 1:
        raise invalid("group", f"The field '{name}' must be an accumulator object such as {{\"$sum\": 1}}.")
    ((operator, operand),) = value.items()
    if operator == "$count":
        if operand != {}:
            raise invalid("group", "$count takes no argument: use {}.")
        return Sql("count(*)"), None, "Number"
    if operator == "$sum" and is_number(operand):
        if operand == 1:
            return Sql("count(*)"), None, "Number"
        return sql("(count(*) * %s::numeric)", number_param(operand)), None, "Number"
    if operator in ("$sum", "$avg"):
        source = number_value(field_reference(ctx, rel, operand, stage="group"), operator=operator)
        aggregate = f"COALESCE(sum({column}), 0)" if operator == "$sum" else f"avg({column})"
        return Sql(aggregate), source, "Number"
    if operator in ("$min", "$max"):
        order = comparable(field_reference(ctx, rel, operand, stage="group"))
        return Sql(_extreme(order, column, largest=operator == "$max")), order.value, order.type
    raise invalid("group", f"Unsupported accumulator {shown(operator)}: use $sum, $avg, $min, $max or $count.")


def _extreme(order: Comparable, column: str, *, largest: bool) -> str:
    if order.kind == "json":
        direction = "DESC" if largest else "ASC"
        return f"(array_agg({column} ORDER BY {column} {direction}) FILTER (WHERE jsonb_typeof({column}) <> 'null'))[1]"
    collate = ' COLLATE "C"' if order.collate else ""
    aggregate = f"{'max' if largest else 'min'}({column}{collate})"
    if order.kind == "date":
        return (
            f"CASE WHEN {aggregate} IS NULL THEN NULL ELSE jsonb_build_object('__type', 'Date', 'iso', {aggregate}) END"
        )
    return aggregate


def _document(pairs: list[Sql]) -> Sql:
    """``{"objectId": key, name: value, ...}`` as one jsonb value."""
    if not pairs:
        return Sql("jsonb_build_object('objectId', _k)")
    return concat("(jsonb_build_object('objectId', _k) || jsonb_build_object(", _joined(pairs), "))")


def _joined(parts: list[Sql]) -> Sql:
    pieces: list[Sql | str] = []
    for index, part in enumerate(parts):
        pieces.extend([", " if index else "", part])
    return concat(*pieces)
