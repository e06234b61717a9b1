"""What changed between two schema snapshots, in words a developer reads before upgrading an SDK."""

from __future__ import annotations

from typing import Any


def _fields(schema: dict[str, Any]) -> dict[str, dict[str, str]]:
    classes: dict[str, dict[str, str]] = {}
    for cls in schema.get("classes", []):
        classes[cls["class_name"]] = {
            f["name"]: f["type"] + (f"<{f['target_class']}>" if f.get("target_class") else "") for f in cls["fields"]
        }
    return classes


def _signatures(schema: dict[str, Any]) -> dict[str, str]:
    return {
        f["name"]: "(" + ", ".join(f"{p['name']}: {p['type']}" for p in f["params"]) + f") -> {f['returns']}"
        for f in schema.get("functions", [])
    }


def _class_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    before, after = _fields(old), _fields(new)
    changes = [f"class {name} added" for name in sorted(after.keys() - before.keys())]
    changes += [f"class {name} removed" for name in sorted(before.keys() - after.keys())]
    for name in sorted(before.keys() & after.keys()):
        old_fields, new_fields = before[name], after[name]
        changes += [f"{name}.{f} added ({new_fields[f]})" for f in sorted(new_fields.keys() - old_fields.keys())]
        changes += [f"{name}.{f} removed" for f in sorted(old_fields.keys() - new_fields.keys())]
        changes += [
            f"{name}.{f} changed from {old_fields[f]} to {new_fields[f]}"
            for f in sorted(old_fields.keys() & new_fields.keys())
            if old_fields[f] != new_fields[f]
        ]
    return changes


def _function_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    before, after = _signatures(old), _signatures(new)
    changes = [f"function {name}{after[name]} added" for name in sorted(after.keys() - before.keys())]
    changes += [f"function {name} removed" for name in sorted(before.keys() - after.keys())]
    changes += [
        f"function {name} changed from {before[name]} to {after[name]}"
        for name in sorted(before.keys() & after.keys())
        if before[name] != after[name]
    ]
    return changes


def schema_changes(old: dict[str, Any] | None, new: dict[str, Any]) -> list[str]:
    """Lines describing ``new`` against ``old`` (None: the first version)."""
    if old is None:
        return ["first version"]
    return _class_changes(old, new) + _function_changes(old, new)
