"""Queries of the Parse data API: ``GET /classes/:C`` and ``GET /classes/:C/:id`` (reference §7.2, §7.5)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from django.conf import settings

from hangar.caller import Caller
from hangar.datastore.class_access import class_for_read
from hangar.datastore.connection import app_read
from hangar.datastore.dates import WIRE_DATE_COLUMNS
from hangar.datastore.hooks import hooks
from hangar.datastore.include import include_paths
from hangar.datastore.objects import object_get_raw, read_filter, wire_encoder, wire_for_caller
from hangar.datastore.partitions import object_partition
from hangar.datastore.permissions import clp_check
from hangar.datastore.query import compile_query
from hangar.datastore.read_access import query_context_for
from hangar.datastore.schema_registry import app_schemas
from hangar.datastore.wire import project
from hangar.db_pool import DataPlaneConnection
from hangar.parse_errors import INVALID_JSON, INVALID_QUERY, OBJECT_NOT_FOUND, SCRIPT_FAILED, ParseError

DEFAULT_LIMIT = 100
_FIND_PARAMS = frozenset(
    {
        "where", "order", "limit", "skip", "keys", "excludeKeys", "include", "includeAll", "count",
        "redirectClassNameForKey", "readPreference", "includeReadPreference", "subqueryReadPreference",
        "hint", "explain", "comment",
    }
)  # fmt: skip
_GET_PARAMS = frozenset(
    {"keys", "include", "excludeKeys", "readPreference", "includeReadPreference", "subqueryReadPreference"}
)


def _list_param(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, list):
        return [str(item) for item in value]
    return [part for part in str(value).split(",") if part]


def _int_param(value: Any, name: str, default: int) -> int:
    if value is None:
        return default
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ParseError(INVALID_QUERY, f"Invalid parameter for query: {name}") from exc
    if number < 0 or number >= 2**63:  # beyond PostgreSQL's bigint
        raise ParseError(INVALID_QUERY, f"Invalid parameter for query: {name}")
    return number


def _where_param(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            raise ParseError(INVALID_JSON, "where must be a JSON object") from exc
    return value or {}


def _truthy(value: Any) -> bool:
    return value not in (None, False, 0, "0", "false", "")


def _is_get(where: Any) -> bool:
    return isinstance(where, dict) and len(where) == 1 and isinstance(where.get("objectId"), str)


def _include_list(params: dict[str, Any], keys: list[str] | None) -> list[str]:
    paths = _list_param(params.get("include")) or []
    if keys:
        paths += [k.rsplit(".", 1)[0] for k in keys if "." in k]
    return paths


async def object_get(
    *, caller: Caller, class_name: str, object_id: str, params: dict[str, Any], files_base: str
) -> dict[str, Any]:
    unknown = set(params) - _GET_PARAMS
    if unknown:
        raise ParseError(INVALID_QUERY, "Improper encode of parameter")
    if hooks().wants(caller=caller, kind="beforeFind", class_name=class_name) or hooks().wants(
        caller=caller, kind="afterFind", class_name=class_name
    ):
        # Parse Server runs a get as a find of one objectId, so beforeFind/afterFind see it (isGet).
        query = {**params, "where": {"objectId": object_id}, "limit": 1}
        found = await object_find(
            caller=caller, class_name=class_name, params=query, files_base=files_base, is_get=True
        )
        if not found["results"]:
            raise ParseError(OBJECT_NOT_FOUND, "Object not found.")
        return dict(found["results"][0])
    schema, row = await object_get_raw(caller, class_name, object_id)
    obj = wire_for_caller(schema, caller, object_id, row, files_base)
    keys = _list_param(params.get("keys"))
    include = _include_list(params, keys)
    if include:
        schemas = await app_schemas(caller.app_pk, caller.schema_version)
        await include_paths(caller, schemas, [obj], include, files_base)
    return project(obj, keys, _list_param(params.get("excludeKeys")))


def _check_find_params(params: dict[str, Any]) -> None:
    unknown = set(params) - _FIND_PARAMS
    if unknown:
        raise ParseError(INVALID_QUERY, f"Invalid parameter for query: {sorted(unknown)[0]}")


async def object_find(
    *, caller: Caller, class_name: str, params: dict[str, Any], files_base: str, is_get: bool = False
) -> dict[str, Any]:
    _check_find_params(params)
    if hooks().wants(caller=caller, kind="beforeFind", class_name=class_name):
        # The changed query is checked and compiled like the client's own, with the caller's
        # CLP, ACL and protected fields: a beforeFind narrows or reshapes, it never widens access.
        params = await hooks().before_find(caller=caller, class_name=class_name, params=params, is_get=is_get)
        if not isinstance(params, dict):
            raise ParseError(SCRIPT_FAILED, "beforeFind must leave a query.")
        _check_find_params(params)
    redirect = params.get("redirectClassNameForKey")
    schema = await class_for_read(caller, class_name)
    redirected = False
    if redirect and schema is not None:
        # Only a Relation redirects, as in Parse Server's redirectClassNameForKey.
        spec = schema.field_type(str(redirect)) or {}
        if spec.get("type") == "Relation" and spec.get("targetClass"):
            class_name = spec["targetClass"]
            schema = await class_for_read(caller, class_name)
            redirected = True
    limit = min(_int_param(params.get("limit"), "limit", DEFAULT_LIMIT), settings.HANGAR_MAX_QUERY_LIMIT)
    skip = _int_param(params.get("skip"), "skip", 0)
    wants_count = _truthy(params.get("count"))
    if schema is None:
        return {"results": [], "count": 0} if wants_count else {"results": []}
    where = _where_param(params.get("where"))
    # A find of one objectId is a get for the CLP, as in Parse Server (the JS SDK's Query.get is such a find).
    find_operation = "get" if _is_get(where) else "find"
    pointer_fields = clp_check(schema, find_operation if limit or not wants_count else "count", caller)
    if wants_count and limit:
        clp_check(schema, "count", caller)
    schemas = await app_schemas(caller.app_pk, caller.schema_version)
    # Sub-queries, $relatedTo and the order obey the caller's CLP, pointer permissions, ACL and
    # hidden fields of every class they read, as a direct query would (read_access.py).
    compiled = compile_query(
        class_name=class_name, where=where, order=params.get("order"), context=query_context_for(caller, schemas)
    )
    base_params: list[Any] = [caller.app_pk, class_name]
    filters = read_filter(caller, schema, pointer_fields, base_params)
    where_sql = f"app_id = %s AND class_name = %s{filters} AND ({compiled.where_sql})"
    where_params = base_params + compiled.params
    table = object_partition(caller.app_pk)
    keys = _list_param(params.get("keys"))
    # `keys=$score` asks for the $text relevance as a `score` field (Parse Server's sortByTextScore).
    wants_score = bool(keys and "$score" in keys and compiled.score_sql)

    async def read(conn: DataPlaneConnection) -> tuple[list[tuple[Any, ...]], int | None]:
        rows: list[tuple[Any, ...]] = []
        total = None
        if limit:
            order_sql = f" ORDER BY {compiled.order_sql}" if compiled.order_sql else ""
            score_sql = f", {compiled.score_sql}" if wants_score else ""
            rows = await conn.fetch_all(
                f"SELECT object_id, data, {WIRE_DATE_COLUMNS}{score_sql} FROM {table} WHERE {where_sql}"
                f"{order_sql} LIMIT %s OFFSET %s",
                [*(compiled.score_params if wants_score else []), *where_params, *compiled.order_params, limit, skip],
            )
        if wants_count:
            counted = await conn.fetch_one(f"SELECT count(*) FROM {table} WHERE {where_sql}", where_params)
            total = counted[0] if counted else 0
        return rows, total

    rows, total = await app_read(caller.app_pk, read)
    encode = wire_encoder(schema, caller, files_base)
    results = [encode(row[0], row[1:4]) for row in rows]
    if wants_score and keys is not None:
        for obj, row in zip(results, rows, strict=True):
            obj["score"] = float(row[4])
        keys = [("score" if key == "$score" else key) for key in keys]
    include = ["*"] if _truthy(params.get("includeAll")) else _include_list(params, keys)
    if include == ["*"] or "*" in include:
        include = [name for name, spec in schema.fields.items() if spec["type"] in {"Pointer", "Array"}]
    if include and results:
        await include_paths(caller, schemas, results, include, files_base)
    excluded = _list_param(params.get("excludeKeys"))
    results = [project(obj, keys, excluded) for obj in results]
    if redirected:
        # The SDK asked the parent class; each result says which class it really is (§7.5).
        results = [{**obj, "className": class_name} for obj in results]
    results = await hooks().after_find(caller=caller, class_name=class_name, results=results)
    return {"results": results, "count": total} if wants_count else {"results": results}


@dataclass(frozen=True)
class FindStatement:
    """A find compiled for a statement that consumes its rows inside the database."""

    table: str
    where_sql: str  # with the caller's CLP pointer permissions and ACL, like object_find's
    params: list[Any]
    order_sql: str | None  # None without an order
    order_params: list[Any]


async def find_statement(*, caller: Caller, class_name: str, where: Any, order: str | None) -> FindStatement | None:
    """The rows a find of ``where`` would return to ``caller``, as SQL; None when the class does not exist.

    For server-side work that reads a class's rows by the thousand without sending them anywhere
    (a push campaign resolving its installations into deliveries): the same compiler, CLP and
    read filter as ``object_find``, but no beforeFind/afterFind triggers, projection or include,
    so the caller checks ``hooks().wants`` and takes ``object_find`` when a trigger is defined.
    """
    schema = await class_for_read(caller, class_name)
    if schema is None:
        return None
    pointer_fields = clp_check(schema, "find", caller)
    schemas = await app_schemas(caller.app_pk, caller.schema_version)
    compiled = compile_query(
        class_name=class_name, where=_where_param(where), order=order, context=query_context_for(caller, schemas)
    )
    base_params: list[Any] = [caller.app_pk, class_name]
    filters = read_filter(caller, schema, pointer_fields, base_params)
    return FindStatement(
        table=object_partition(caller.app_pk),
        where_sql=f"app_id = %s AND class_name = %s{filters} AND ({compiled.where_sql})",
        params=base_params + compiled.params,
        order_sql=compiled.order_sql,
        order_params=list(compiled.order_params),
    )
