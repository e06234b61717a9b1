"""``GET /aggregate/:C``: distinct values or a pipeline, run as one SQL statement (reference §13.5).

Master key only, as in Parse Server: no ACL, CLP or pointer permission applies, but
every statement is bound to the caller's app (``app_transaction``, row-level security)
and filtered by it.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from psycopg import DataError

from hangar.caller import Caller
from hangar.datastore.aggregate.fields import field_named
from hangar.datastore.aggregate.params import AggregateParams, aggregate_params
from hangar.datastore.aggregate.relation import COLUMNS, PipelineContext, Relation
from hangar.datastore.aggregate.stages import STAGES
from hangar.datastore.class_access import class_for_read
from hangar.datastore.connection import app_statement
from hangar.datastore.partitions import object_partition
from hangar.datastore.query import compile_query
from hangar.datastore.query.context import Sql, concat, sql
from hangar.datastore.schema_registry import ClassSchema, app_schemas
from hangar.datastore.wire import row_to_wire
from hangar.parse_errors import INVALID_QUERY, ParseError, UnauthorizedError

log = logging.getLogger(__name__)
# A pipeline has no implicit limit (Parse Server has none either); this bounds what one
# request may hold in the gateway's memory. Past it the request fails rather than
# returning a silently truncated answer.
MAX_RESULTS = 10_000
# Stages MongoDB has and Hangar does not translate: named in the error, so that the
# client knows the stage exists but is not supported here.
_MONGO_ONLY_STAGES = frozenset(
    {
        "$addFields", "$bucket", "$bucketAuto", "$collStats", "$densify", "$facet", "$fill", "$geoNear",
        "$graphLookup", "$indexStats", "$lookup", "$merge", "$out", "$redact", "$replaceRoot", "$replaceWith",
        "$sample", "$set", "$setWindowFields", "$sortByCount", "$unionWith", "$unset", "$unwind",
    }
)  # fmt: skip


async def object_aggregate(
    *, caller: Caller, class_name: str, params: dict[str, Any], files_base: str
) -> dict[str, Any]:
    """Distinct values of a field or the results of a pipeline, ``{"results": [...]}``."""
    if not caller.is_master:
        raise UnauthorizedError("unauthorized: master key is required")
    request = aggregate_params(params)
    schema = await class_for_read(caller, class_name)
    schemas = await app_schemas(caller.app_pk, caller.schema_version)
    ctx = PipelineContext(app_pk=caller.app_pk, class_name=class_name, schemas=schemas.as_mapping())
    base = _base(ctx, schema, request.where)
    if request.distinct is not None:
        statement, rel = _distinct(ctx, base, request.distinct), None
    else:
        rel = _pipeline(ctx, base, request)
        statement = concat(f"SELECT {COLUMNS} FROM (", rel.sql, f") AS result{rel.order_by}")
    if schema is None:  # validated above; a class that does not exist has no objects
        return {"results": []}
    rows = await _fetch(caller.app_pk, concat(statement, sql(" LIMIT %s", MAX_RESULTS + 1)))
    if len(rows) > MAX_RESULTS:
        raise ParseError(
            INVALID_QUERY, f"The aggregation returns more than {MAX_RESULTS} results; narrow it with $match or $limit."
        )
    return {"results": _render(rows, rel, schema, files_base)}


def _base(ctx: PipelineContext, schema: ClassSchema | None, where: dict[str, Any]) -> Relation:
    """The class's objects matching ``where``."""
    rel = Relation(Sql(""), fields=schema.fields if schema is not None else {})
    compiled = compile_query(class_name=ctx.class_name, where=where, order=None, context=ctx.query_context(rel))
    statement = concat(
        sql(f"SELECT {COLUMNS} FROM {object_partition(ctx.app_pk)} WHERE app_id = %s AND class_name = %s AND (",
            ctx.app_pk,
            ctx.class_name),
        Sql(compiled.where_sql, tuple(compiled.params)),
        ")",
    )  # fmt: skip
    return Relation(statement, fields=rel.fields)


def _pipeline(ctx: PipelineContext, rel: Relation, request: AggregateParams) -> Relation:
    for index, (name, value) in enumerate(request.stages):
        stage = STAGES.get(name)
        if stage is None:
            if name in _MONGO_ONLY_STAGES:
                raise ParseError(INVALID_QUERY, f"The {name} aggregate stage is not supported.")
            raise ParseError(INVALID_QUERY, f"Unrecognized pipeline stage name: '{name}'")
        rel = stage(ctx, rel, value, f"s{index}")
    return rel


def _distinct(ctx: PipelineContext, rel: Relation, name: str) -> Sql:
    """Distinct non-null values in wire form; the elements of an Array field, as in Parse Server."""
    ref = field_named(ctx, rel, name)
    value = ref.json
    if ref.type == "Array":
        value = f"jsonb_array_elements(CASE WHEN jsonb_typeof({value}) = 'array' THEN {value} ELSE '[]'::jsonb END)"
    return concat(
        f"SELECT DISTINCT v FROM (SELECT {value} AS v FROM (", rel.sql,
        ") AS s) AS d WHERE jsonb_typeof(v) <> 'null' ORDER BY v",
    )  # fmt: skip


async def _fetch(app_pk: int, statement: Sql) -> list[tuple[Any, ...]]:
    try:
        async with app_statement(app_pk) as conn:
            cursor = await conn.execute(statement.text, list(statement.params))
            return await cursor.fetchall()
    except DataError as exc:
        # A value the SQL could not convert (Parse Server relays adapter errors as 102 too);
        # PostgreSQL's words stay in the log.
        log.info("aggregate rejected by PostgreSQL (%s): %s", exc.sqlstate, exc.diag.message_primary)
        raise ParseError(INVALID_QUERY, "Invalid parameter for query: a value cannot be computed.") from exc


def _render(rows: list[tuple[Any, ...]], rel: Relation | None, schema: ClassSchema, files_base: str) -> list[Any]:
    if rel is None:
        return [_wire_value(row[0], files_base) for row in rows]
    if rel.grouped:
        return [_document(row[1], files_base) for row in rows]
    results = []
    for object_id, data, created_at, updated_at in rows:
        obj = row_to_wire(
            schema, object_id=object_id, data=data, created_at=created_at, updated_at=updated_at, files_base=files_base
        )
        for projection in rel.projections:
            obj = projection.apply(obj)
        results.append(_wire_value(obj, files_base))
    return results


def _document(data: dict[str, Any], files_base: str) -> dict[str, Any]:
    """A $group/$count result, objectId first as Parse Server writes it (jsonb keeps its own key order)."""
    document = _wire_value(data, files_base)
    if "objectId" in document:
        document = {"objectId": document.pop("objectId"), **document}
    return document


def _wire_value(value: Any, files_base: str) -> Any:
    """Files get their URL, as on every read (reference §18.7); whole numbers too big for 64 bits become floats.

    jsonb prints a numeric such as 1e30 with all its digits, which Python reads as an int
    that the JSON encoder refuses; JavaScript clients read every number as a double anyway.
    """
    if isinstance(value, dict):
        if value.get("__type") == "File" and isinstance(value.get("name"), str):
            return {"__type": "File", "name": value["name"], "url": f"{files_base}/{quote(value['name'])}"}
        return {key: _wire_value(item, files_base) for key, item in value.items()}
    if isinstance(value, list):
        return [_wire_value(item, files_base) for item in value]
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**63:
        try:
            return float(value)
        except OverflowError:
            raise ParseError(INVALID_QUERY, "A number in the results is too large.") from None
    return value
