"""What a schema file changes in an app, as a list of operations, and how to undo each.

An operation is a small JSON object (``{"op": "addField", "className": ..., ...}``) that
the service applies through the datastore's ``/schemas`` services and the history
stores. Destructive operations (dropping a class or a field, changing a field's type)
are planned but left out unless the caller allows them, so a file missing a field that a
client added by schema-on-write never deletes data by surprise.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from hangar.datastore.clp import OPERATIONS
from hangar.schema_history.document import ClassSpec, SchemaDocument

DESTRUCTIVE = frozenset({"dropClass", "dropField"})
# Applied in this order: a CLP may name a field added in the same push, an index may cover it,
# and a field is dropped only after the CLP and indexes that named it are gone.
ORDER = (
    "addClass", "addField", "changeField", "dropIndex", "addIndex", "setPermissions",
    "dropField", "dropClass", "setLiveQueryClasses",
)  # fmt: skip


@dataclass
class Plan:
    operations: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)  # destructive, not allowed

    def wire(self) -> dict[str, Any]:
        return {"operations": self.operations, "skipped": self.skipped}


def clp_stored(clp: dict[str, Any]) -> dict[str, Any]:
    """A CLP as the datastore stores it (unlisted operations master-only), so two spellings compare equal."""
    stored: dict[str, Any] = {operation: {} for operation in OPERATIONS}
    stored["protectedFields"] = {}
    stored.update(copy.deepcopy(clp))
    if stored["protectedFields"] == {"*": []}:
        stored["protectedFields"] = {}
    return stored


def class_operations(name: str, have: ClassSpec, want: ClassSpec) -> list[dict[str, Any]]:
    """The operations that turn one class's ``have`` into ``want``, in the class's own order."""
    ops: list[dict[str, Any]] = []
    for field_name, spec in want.fields.items():
        current = have.fields.get(field_name)
        if current is None:
            ops.append({"op": "addField", "className": name, "field": field_name, "spec": spec})
        elif current.get("type") != spec.get("type") or current.get("targetClass") != spec.get("targetClass"):
            # A new type is a new column: the old values cannot be kept (Parse refuses the change too).
            ops.append({"op": "dropField", "className": name, "field": field_name, "spec": current})
            ops.append({"op": "addField", "className": name, "field": field_name, "spec": spec})
        elif current != spec:
            ops.append({"op": "changeField", "className": name, "field": field_name, "spec": spec, "previous": current})
    for field_name, spec in have.fields.items():
        if field_name not in want.fields:
            ops.append({"op": "dropField", "className": name, "field": field_name, "spec": spec})
    for index, key in have.indexes.items():
        if want.indexes.get(index) != key:
            ops.append({"op": "dropIndex", "className": name, "index": index, "key": key})
    for index, key in want.indexes.items():
        if have.indexes.get(index) != key:
            ops.append({"op": "addIndex", "className": name, "index": index, "key": key})
    if clp_stored(have.clp) != clp_stored(want.clp):
        ops.append({"op": "setPermissions", "className": name, "classLevelPermissions": want.clp, "previous": have.clp})
    return ops


def _sorted(ops: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(ops, key=lambda op: ORDER.index(op["op"]))  # stable: a class's own order is kept


def plan_changes(current: SchemaDocument, desired: SchemaDocument, *, allow_destructive: bool) -> Plan:
    """The operations that turn ``current`` into ``desired``."""
    ops: list[dict[str, Any]] = []
    for name, want in desired.classes.items():
        have = current.classes.get(name)
        if have is None:
            ops.append({
                "op": "addClass", "className": name, "fields": want.fields,
                "classLevelPermissions": want.clp, "indexes": want.indexes,
            })  # fmt: skip
        else:
            ops.extend(class_operations(name, have, want))
    for name, have in current.classes.items():
        if name not in desired.classes:
            ops.append({
                "op": "dropClass", "className": name, "fields": have.fields,
                "classLevelPermissions": have.clp, "indexes": have.indexes,
            })  # fmt: skip
    if desired.live_query is not None and sorted(current.live_query or []) != desired.live_query:
        ops.append({"op": "setLiveQueryClasses", "classes": desired.live_query, "previous": current.live_query or []})
    plan = Plan()
    for op in _sorted(ops):
        (plan.operations if allow_destructive or op["op"] not in DESTRUCTIVE else plan.skipped).append(op)
    _keep_type_changes_whole(plan)
    return plan


def _keep_type_changes_whole(plan: Plan) -> None:
    """A type change is a drop and an add: without its drop, the add would fail, so it is skipped too."""
    skipped_drops = {(op["className"], op["field"]) for op in plan.skipped if op["op"] == "dropField"}
    kept = []
    for op in plan.operations:
        if op["op"] == "addField" and (op["className"], op["field"]) in skipped_drops:
            plan.skipped.append(op)
        else:
            kept.append(op)
    plan.operations = kept


def reverse_of(op: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    """The operation that undoes ``op``, and what the undo cannot bring back (None when nothing is lost)."""
    kind, name = op["op"], op.get("className")
    if kind == "addClass":
        return {"op": "dropClass", "className": name, "fields": op["fields"],
                "classLevelPermissions": op["classLevelPermissions"], "indexes": op["indexes"]}, None  # fmt: skip
    if kind == "dropClass":  # the datastore drops only empty classes: nothing is lost
        return {"op": "addClass", "className": name, "fields": op["fields"],
                "classLevelPermissions": op["classLevelPermissions"], "indexes": op["indexes"]}, None  # fmt: skip
    if kind == "addField":
        return {"op": "dropField", "className": name, "field": op["field"], "spec": op["spec"]}, None
    if kind == "dropField":
        lost = f"the values of {name}.{op['field']} (the field comes back empty)"
        return {"op": "addField", "className": name, "field": op["field"], "spec": op["spec"]}, lost
    if kind == "changeField":
        return {"op": "changeField", "className": name, "field": op["field"], "spec": op["previous"],
                "previous": op["spec"]}, None  # fmt: skip
    if kind == "addIndex":
        return {"op": "dropIndex", "className": name, "index": op["index"], "key": op["key"]}, None
    if kind == "dropIndex":
        return {"op": "addIndex", "className": name, "index": op["index"], "key": op["key"]}, None
    if kind == "setPermissions":
        return {"op": "setPermissions", "className": name, "classLevelPermissions": op["previous"],
                "previous": op["classLevelPermissions"]}, None  # fmt: skip
    if kind == "setLiveQueryClasses":
        return {"op": "setLiveQueryClasses", "classes": op["previous"], "previous": op["classes"]}, None
    raise ValueError(f"unknown schema operation {kind!r}")


def reverse_plan(applied: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """The operations that undo ``applied`` (newest first), and what they cannot bring back."""
    reverse, irreversible = [], []
    for op in reversed(applied):
        undo, lost = reverse_of(op)
        if undo is not None:
            reverse.append(undo)
        if lost:
            irreversible.append(lost)
    return reverse, irreversible


def describe(op: dict[str, Any]) -> str:
    """One line a person reads in ``schema diff`` and the history."""
    kind, name = op["op"], op.get("className", "")
    if kind in {"addField", "dropField"}:
        sign = "+" if kind == "addField" else "-"
        spec = op["spec"]
        target = f"<{spec['targetClass']}>" if spec.get("targetClass") else ""
        return f"{sign} {name}.{op['field']}: {spec['type']}{target}"
    if kind == "changeField":
        return f"~ {name}.{op['field']}: options {op['previous']} -> {op['spec']}"
    if kind == "addClass":
        return f"+ class {name} ({len(op['fields'])} fields, {len(op['indexes'])} indexes)"
    if kind == "dropClass":
        return f"- class {name}"
    if kind in {"addIndex", "dropIndex"}:
        return f"{'+' if kind == 'addIndex' else '-'} index {name}.{op['index']} {op['key']}"
    if kind == "setPermissions":
        return f"~ {name} class-level permissions"
    return f"~ LiveQuery classes {op['previous']} -> {op['classes']}"
