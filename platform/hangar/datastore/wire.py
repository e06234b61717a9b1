"""Stored rows → Parse wire objects (reference §5.3, §18.6-7)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from hangar.datastore.dates import format_date
from hangar.datastore.schema_registry import ClassSchema

ALWAYS_KEPT = frozenset({"objectId", "createdAt", "updatedAt", "ACL"})


def _with_file_url(value: Any, files_base: str) -> Any:
    if isinstance(value, dict) and value.get("__type") == "File" and "name" in value:
        return {"__type": "File", "name": value["name"], "url": f"{files_base}/{quote(value['name'])}"}
    if isinstance(value, list):
        return [_with_file_url(item, files_base) for item in value]
    return value


def row_to_wire(
    schema: ClassSchema | None,
    *,
    object_id: str,
    data: dict[str, Any],
    created_at: datetime,
    updated_at: datetime,
    files_base: str,
    hidden: set[str] = frozenset(),  # type: ignore[assignment]
    relations: list[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """``relations`` may be passed precomputed (``schema.relation_fields()``) when encoding many rows."""
    out: dict[str, Any] = {
        "objectId": object_id,
        "createdAt": format_date(created_at),
        "updatedAt": format_date(updated_at),
    }
    for key, value in data.items():
        if key[0] == "_" or key in hidden:
            continue
        out[key] = _with_file_url(value, files_base) if isinstance(value, dict | list) else value
    if relations is None and schema is not None:
        relations = schema.relation_fields()
    for name, target in relations or ():
        if name not in hidden:
            out[name] = {"__type": "Relation", "className": target}
    return out


def project(obj: dict[str, Any], keys: list[str] | None, exclude: list[str] | None) -> dict[str, Any]:
    """Apply ``keys`` / ``excludeKeys``; a dotted ``a.b`` applies ``b`` inside the included object ``a`` (§7.6)."""
    if keys is not None:
        wanted = {k.split(".", 1)[0] for k in keys} | ALWAYS_KEPT
        obj = {k: v for k, v in obj.items() if k in wanted}
        for name, sub_keys in _dotted(keys).items():
            if name in obj:
                obj[name] = _project_included(obj[name], sub_keys, None)
    if exclude:
        dropped = {k for k in exclude if "." not in k} - ALWAYS_KEPT
        obj = {k: v for k, v in obj.items() if k not in dropped}
        for name, sub_exclude in _dotted(exclude).items():
            if name in obj:
                obj[name] = _project_included(obj[name], None, sub_exclude)
    return obj


def _dotted(names: list[str]) -> dict[str, list[str]]:
    """``["a.b", "a.c.d", "e"]`` -> ``{"a": ["b", "c.d"]}``."""
    nested: dict[str, list[str]] = {}
    for name in names:
        head, dot, rest = name.partition(".")
        if dot and rest:
            nested.setdefault(head, []).append(rest)
    return nested


def _project_included(value: Any, keys: list[str] | None, exclude: list[str] | None) -> Any:
    """Project an included object (or each of an array of them); plain values and pointers pass through."""
    if isinstance(value, list):
        return [_project_included(item, keys, exclude) for item in value]
    if isinstance(value, dict) and value.get("__type") == "Object":
        projected = project(value, keys, exclude)
        projected.update(__type="Object", className=value.get("className"))
        return projected
    return value
