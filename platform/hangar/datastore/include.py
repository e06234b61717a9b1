"""``include``: replacing pointers with the objects they point to (reference §7.6).

Included objects pass the same read checks as the caller (CLP ``get``, ACL, protected
fields); a pointer the caller may not read is removed from its parent, as Parse Server
does. Each level of a dotted path is fetched with one query per target class.

A request's include work is bounded: at most ``HANGAR_MAX_INCLUDE_PATHS`` distinct paths
(every prefix of a dotted path is one: 3 self-pointers would otherwise expand to
thousands of paths) and ``HANGAR_MAX_INCLUDED_OBJECTS`` fetched objects; beyond, the
query fails with 102 rather than spending seconds and megabytes on one request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings

from hangar.caller import Caller
from hangar.datastore.connection import app_read
from hangar.datastore.dates import WIRE_DATE_COLUMNS
from hangar.datastore.partitions import object_partition
from hangar.datastore.permissions import clp_check
from hangar.datastore.schema_registry import AppSchemas
from hangar.parse_errors import INVALID_QUERY, ParseError

MAX_INCLUDE_DEPTH = 8


def _pointers_at(containers: list[dict[str, Any]], key: str) -> list[tuple[str, str]]:
    found = []
    for container in containers:
        value = container.get(key)
        items = value if isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, dict) and item.get("__type") in {"Pointer", "Object"} and "objectId" in item:
                found.append((item["className"], item["objectId"]))
    return found


async def _fetch_readable(
    caller: Caller, schemas: AppSchemas, class_name: str, ids: list[str], files_base: str
) -> dict[str, dict[str, Any]]:
    from hangar.datastore.objects import read_filter, wire_encoder  # objects imports this module's users

    schema = schemas.classes.get(class_name)
    if schema is None:
        return {}
    try:
        pointer_fields = clp_check(schema, "get", caller)
    except ParseError:
        return {}
    params: list[Any] = [caller.app_pk, class_name, ids]
    where_extra = read_filter(caller, schema, pointer_fields, params)
    sql = (
        f"SELECT object_id, data, {WIRE_DATE_COLUMNS} FROM {object_partition(caller.app_pk)} "
        f"WHERE app_id = %s AND class_name = %s AND object_id = ANY(%s::text[]){where_extra}"
    )
    rows = await app_read(caller.app_pk, lambda conn: conn.fetch_all(sql, params))
    fetched = {}
    encode = wire_encoder(schema, caller, files_base)
    for object_id, *rest in rows:
        obj = encode(object_id, tuple(rest))
        fetched[object_id] = {**obj, "__type": "Object", "className": class_name}
    return fetched


def _replace(
    containers: list[dict[str, Any]], key: str, objects: dict[tuple[str, str], dict[str, Any]]
) -> list[dict[str, Any]]:
    """Swap pointers for fetched objects (dropping unreadable ones); return the included objects."""
    included = []
    for container in containers:
        value = container.get(key)
        if isinstance(value, list):
            kept = []
            for item in value:
                if isinstance(item, dict) and item.get("__type") in {"Pointer", "Object"}:
                    found = objects.get((str(item.get("className")), str(item.get("objectId"))))
                    if found is not None:
                        kept.append(found)
                        included.append(found)
                else:
                    kept.append(item)
            container[key] = kept
        elif isinstance(value, dict) and value.get("__type") in {"Pointer", "Object"}:
            found = objects.get((str(value.get("className")), str(value.get("objectId"))))
            if found is None:
                del container[key]
            else:
                container[key] = found
                included.append(found)
    return included


@dataclass
class _Budget:
    """Objects this request's include may still fetch."""

    remaining: int

    def spend(self, count: int) -> None:
        self.remaining -= count
        if self.remaining < 0:
            raise ParseError(
                INVALID_QUERY,
                f"include would fetch more than {settings.HANGAR_MAX_INCLUDED_OBJECTS} objects;"
                " include fewer paths or lower the limit.",
            )


def include_tree(paths: list[str]) -> dict[str, Any]:
    """The include paths as a tree of keys; refuses more distinct paths (tree nodes) than allowed."""
    tree: dict[str, Any] = {}
    nodes = 0
    for path in paths:
        parts = path.split(".")
        if len(parts) > MAX_INCLUDE_DEPTH:
            continue
        node = tree
        for part in parts:
            if part not in node:
                nodes += 1
                node[part] = {}
            node = node[part]
        if nodes > settings.HANGAR_MAX_INCLUDE_PATHS:
            raise ParseError(
                INVALID_QUERY,
                f"Too many include paths: at most {settings.HANGAR_MAX_INCLUDE_PATHS} "
                "(each prefix of a dotted path counts).",
            )
    return tree


async def include_paths(
    caller: Caller, schemas: AppSchemas, results: list[dict[str, Any]], paths: list[str], files_base: str
) -> None:
    """Expand every dotted include path in place."""
    tree = include_tree(paths)
    budget = _Budget(settings.HANGAR_MAX_INCLUDED_OBJECTS)
    await _include_level(caller, schemas, results, tree, files_base, budget)


async def _include_level(
    caller: Caller,
    schemas: AppSchemas,
    containers: list[dict[str, Any]],
    tree: dict[str, Any],
    files_base: str,
    budget: _Budget,
) -> None:
    for key, subtree in tree.items():
        pointers = _pointers_at(containers, key)
        by_class: dict[str, set[str]] = {}
        for class_name, object_id in pointers:
            by_class.setdefault(class_name, set()).add(object_id)
        budget.spend(sum(len(ids) for ids in by_class.values()))
        fetched: dict[tuple[str, str], dict[str, Any]] = {}
        for class_name, ids in by_class.items():
            for object_id, obj in (await _fetch_readable(caller, schemas, class_name, sorted(ids), files_base)).items():
                fetched[(class_name, object_id)] = obj
        included = _replace(containers, key, fetched)
        if subtree and included:
            await _include_level(caller, schemas, included, subtree, files_base, budget)
