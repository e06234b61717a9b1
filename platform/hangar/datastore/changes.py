"""What a create or update body asks for (reference §6): validated changes per field.

A body maps field names (or dotted paths into Object fields) to plain values or
``{"__op": ...}`` operations. ``parse_changes`` validates names, values and operations
once, infers the schema types the write implies, and leaves applying them to the
create (in Python) and update (in SQL) paths.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hangar.datastore.acl import validate_acl
from hangar.datastore.names import SYSTEM_FIELDS, is_valid_field_name, validate_field_name
from hangar.datastore.values import encode_value, infer_type
from hangar.parse_errors import COMMAND_UNAVAILABLE, INVALID_JSON, INVALID_KEY_NAME, ParseError

_IGNORED_ON_WRITE = {"createdAt", "updatedAt"}


@dataclass(frozen=True)
class Change:
    path: tuple[str, ...]  # ("score",) or ("stats", "wins") for a dotted key
    kind: str  # set, delete, increment, add, add_unique, remove
    value: Any = None


@dataclass(frozen=True)
class RelationChange:
    field: str
    target_class: str
    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()


@dataclass
class Changes:
    fields: list[Change] = field(default_factory=list)
    relations: list[RelationChange] = field(default_factory=list)
    acl: dict[str, dict[str, bool]] | None = None
    acl_given: bool = False
    inferred: dict[str, dict[str, Any]] = field(default_factory=dict)  # top-level field -> type

    def touched(self) -> set[str]:
        return {change.path[0] for change in self.fields}


def _objects(op: dict[str, Any], verb: str) -> list[Any]:
    objects = op.get("objects")
    if not isinstance(objects, list):
        raise ParseError(INVALID_JSON, f"objects to {verb} must be an array")
    return [encode_value(item) for item in objects]


def _pointer_ids(objects: list[Any]) -> tuple[str, tuple[str, ...]]:
    if not objects or not all(isinstance(o, dict) and o.get("__type") == "Pointer" for o in objects):
        raise ParseError(INVALID_JSON, "relation operations need an array of pointers")
    classes = {o["className"] for o in objects}
    if len(classes) != 1:
        raise ParseError(INVALID_JSON, "all objects of a relation must be of the same class")
    return classes.pop(), tuple(o["objectId"] for o in objects)


def _relation_change(name: str, op: dict[str, Any]) -> RelationChange:
    kind = op["__op"]
    if kind == "Batch":
        ops = op.get("ops")
        if not isinstance(ops, list) or not ops:
            raise ParseError(INVALID_JSON, "Batch ops must be a non-empty array")
        parts = [_relation_change(name, inner) for inner in ops]
        targets = {p.target_class for p in parts}
        if len(targets) != 1:
            raise ParseError(INVALID_JSON, "all objects of a relation must be of the same class")
        return RelationChange(name, targets.pop(), sum((p.add for p in parts), ()), sum((p.remove for p in parts), ()))
    if kind not in {"AddRelation", "RemoveRelation"}:
        raise ParseError(INVALID_JSON, f"{kind} cannot be combined in a Batch")
    target, ids = _pointer_ids(_objects(op, "add" if kind == "AddRelation" else "remove"))
    return RelationChange(name, target, add=ids) if kind == "AddRelation" else RelationChange(name, target, remove=ids)


def _field_op(path: tuple[str, ...], op: dict[str, Any]) -> tuple[Change, dict[str, Any] | None]:
    kind = op.get("__op")
    if kind == "Delete":
        return Change(path, "delete"), None
    if kind == "Increment":
        amount = op.get("amount", 1)
        if not isinstance(amount, int | float) or isinstance(amount, bool):
            raise ParseError(INVALID_JSON, "incrementing must provide a number")
        return Change(path, "increment", amount), {"type": "Number"}
    if kind in {"Add", "AddUnique", "Remove"}:
        verb = "remove" if kind == "Remove" else "add"
        label = {"Add": "add", "AddUnique": "add_unique", "Remove": "remove"}[kind]
        return Change(path, label, _objects(op, verb)), {"type": "Array"}
    raise ParseError(COMMAND_UNAVAILABLE, f"The {kind} operator is not supported yet.")


def _split_key(key: str) -> tuple[str, ...]:
    path = tuple(key.split("."))
    if not all(is_valid_field_name(part) or (i > 0 and part.isdigit()) for i, part in enumerate(path)):
        raise ParseError(INVALID_KEY_NAME, f"Invalid field name: {key}.")
    return path


def parse_changes(body: dict[str, Any], *, is_create: bool) -> Changes:
    changes = Changes()
    for key, value in body.items():
        if key in _IGNORED_ON_WRITE:
            continue
        if key in {"objectId", "id"}:
            if is_create:
                raise ParseError(INVALID_KEY_NAME, f"{key} is an invalid field name.")
            continue
        if key == "ACL":
            changes.acl_given = True
            is_delete = isinstance(value, dict) and value.get("__op") == "Delete"
            changes.acl = None if value is None or is_delete else validate_acl(value)
            continue
        path = _split_key(key) if "." in key else (validate_field_name(key),)
        if path[0] in SYSTEM_FIELDS:
            raise ParseError(INVALID_KEY_NAME, f"Invalid field name: {key}.")
        if isinstance(value, dict) and "__op" in value:
            if value["__op"] in {"AddRelation", "RemoveRelation", "Batch"}:
                relation = _relation_change(path[0], value)
                changes.relations.append(relation)
                changes.inferred[path[0]] = {"type": "Relation", "targetClass": relation.target_class}
                continue
            change, implied = _field_op(path, value)
        else:
            change, implied = (
                Change(path, "set" if value is not None else "delete", encode_value(value)),
                infer_type(value),
            )
        changes.fields.append(change)
        if implied is not None and len(path) == 1:
            changes.inferred[path[0]] = implied
        elif len(path) > 1:
            changes.inferred.setdefault(path[0], {"type": "Object"})
    return changes
