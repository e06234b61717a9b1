"""Changes of an update, as one SQL expression over ``data`` (atomic, no read-modify-write).

Field names are validated before they reach this module (hangar.datastore.changes),
so they are written into the SQL text as literals; values always travel as parameters.
"""

from __future__ import annotations

import copy
from typing import Any

from psycopg.types.json import Jsonb

from hangar.datastore.changes import Change


def _path_literal(path: tuple[str, ...]) -> str:
    return "'{" + ",".join(path) + "}'"


def _current(path: tuple[str, ...]) -> str:
    return f"(data #> {_path_literal(path)})"


def _new_value_sql(change: Change, params: list[Any]) -> str:
    current = _current(change.path)
    if change.kind == "set":
        params.append(Jsonb(change.value))
        return "%s::jsonb"
    if change.kind == "increment":
        params.append(change.value)
        return f"to_jsonb(COALESCE(({current} #>> '{{}}')::numeric, 0) + %s::numeric)"
    if change.kind == "add":
        params.append(Jsonb(change.value))
        return f"(COALESCE({current}, '[]'::jsonb) || %s::jsonb)"
    if change.kind == "add_unique":
        params.append(Jsonb(change.value))
        return (
            f"(COALESCE({current}, '[]'::jsonb) || COALESCE((SELECT jsonb_agg(DISTINCT e) FROM "
            f"jsonb_array_elements(%s::jsonb) e WHERE NOT COALESCE({current}, '[]'::jsonb) @> jsonb_build_array(e)), "
            "'[]'::jsonb))"
        )
    if change.kind == "remove":
        params.append(Jsonb(change.value))
        return (
            f"COALESCE((SELECT jsonb_agg(e) FROM jsonb_array_elements(COALESCE({current}, '[]'::jsonb)) e "
            "WHERE NOT EXISTS (SELECT 1 FROM jsonb_array_elements(%s::jsonb) r WHERE r = e)), '[]'::jsonb)"
        )
    raise ValueError(change.kind)


def data_update_sql(changes: list[Change], params: list[Any]) -> str:
    """The new value of ``data`` after applying every change (parameters appended in order).

    Dotted paths need their parent objects to exist: those are created first, from the
    original ``data``, so no part of the expression (and none of its placeholders) is
    ever repeated.
    """
    expression = "data"
    parents = sorted({c.path[:i] for c in changes if c.kind != "delete" for i in range(1, len(c.path))}, key=len)
    for parent in parents:
        literal = _path_literal(parent)
        expression = f"jsonb_set({expression}, {literal}, COALESCE(data #> {literal}, '{{}}'::jsonb), true)"
    for change in changes:
        path = _path_literal(change.path)
        if change.kind == "delete":
            expression = f"({expression} #- {path})"
            continue
        expression = f"jsonb_set({expression}, {path}, {_new_value_sql(change, params)}, true)"
    return expression


def apply_to_new_object(changes: list[Change]) -> tuple[dict[str, Any], set[str]]:
    """The data of a new object, and the fields whose values the response must echo (§6)."""
    return changes_applied({}, changes)


def changes_applied(stored: dict[str, Any], changes: list[Change]) -> tuple[dict[str, Any], set[str]]:
    """``stored`` (not modified) with the changes applied as the UPDATE will apply them, and the
    fields whose values the response must echo (§6). A new object is the empty ``stored``."""
    data = copy.deepcopy(stored) if stored else {}
    echoed: set[str] = set()
    for change in changes:
        target = data
        for part in change.path[:-1]:
            nested = target.get(part)
            if not isinstance(nested, dict):
                nested = target[part] = {}
            target = nested
        name = change.path[-1]
        if change.kind == "delete":
            target.pop(name, None)
            continue
        if change.kind == "set":
            if isinstance(change.value, dict) and change.value.get("__type") == "Relation":
                continue  # a relation lives in the schema and the relation table, not in data
            target[name] = change.value
            continue
        echoed.add(change.path[0])
        current = target.get(name)
        items = list(current) if isinstance(current, list) else []
        if change.kind == "increment":
            target[name] = (current if isinstance(current, int | float) else 0) + change.value
        elif change.kind == "add":
            target[name] = items + list(change.value)
        elif change.kind == "add_unique":
            for item in change.value:
                if item not in items:
                    items.append(item)
            target[name] = items
        elif change.kind == "remove":
            target[name] = [item for item in items if item not in change.value]
    return data, echoed
