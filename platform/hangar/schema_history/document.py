"""The schema file kept in a tenant's repository: its format, and the app's schema written in it.

One JSON (or YAML, which the CLI turns into the same object) document::

    {"hangarSchema": 1,
     "classes": {"Post": {"fields": {"title": {"type": "String", "required": true}},
                          "classLevelPermissions": {...}, "indexes": {"title_1": {"title": 1}}}},
     "liveQuery": {"classes": ["Post"]}}

The file is the truth for every class: a class or field the app has and the file lacks
is a drop (applied only when destructive changes are allowed). Built-in fields
(objectId, createdAt, updatedAt, ACL and a system class's own) are implied and never
written; a class without ``classLevelPermissions`` has the default ones; without
``liveQuery`` the app's LiveQuery classes are left as they are. Protected fields are
part of the CLP, as in Parse (``classLevelPermissions.protectedFields``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from hangar.datastore.indexes import PRIMARY_INDEX
from hangar.datastore.names import validate_class_name
from hangar.datastore.schemas import FIELD_TYPES
from hangar.datastore.system_classes import (
    DEFAULT_FIELDS,
    SYSTEM_CLASS_FIELDS,
    default_class_level_permissions,
    system_class_permissions,
)
from hangar.parse_errors import ParseError

FORMAT_VERSION = 1
_FIELD_OPTIONS = ("type", "targetClass", "required", "defaultValue")


class SchemaDocumentError(ValueError):
    """The schema file is not in the documented format; the message says where."""


@dataclass
class ClassSpec:
    """A class as the file declares it (or as the app has it): own fields, CLP, declared indexes."""

    fields: dict[str, dict[str, Any]] = field(default_factory=dict)
    clp: dict[str, Any] = field(default_factory=dict)
    indexes: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class SchemaDocument:
    classes: dict[str, ClassSpec]
    live_query: list[str] | None  # None: not managed by the file


def builtin_fields(class_name: str) -> dict[str, dict[str, Any]]:
    return {**DEFAULT_FIELDS, **SYSTEM_CLASS_FIELDS.get(class_name, {})}


def default_clp(class_name: str) -> dict[str, Any]:
    if class_name in SYSTEM_CLASS_FIELDS:
        return system_class_permissions(class_name)
    return default_class_level_permissions()


def field_spec_normalized(spec: dict[str, Any]) -> dict[str, Any]:
    """A field's type and options in one canonical shape (``required: false`` is the same as no option)."""
    out = {key: copy.deepcopy(spec[key]) for key in _FIELD_OPTIONS if key in spec}
    if out.get("required") is False:
        del out["required"]
    if out.get("defaultValue") is None:
        out.pop("defaultValue", None)
    return out


def _where(class_name: str, name: str | None = None) -> str:
    return f"classes.{class_name}" + (f".fields.{name}" if name else "")


def _field_checked(class_name: str, name: str, spec: Any) -> dict[str, Any]:
    if not isinstance(spec, dict):
        raise SchemaDocumentError(f'{_where(class_name, name)} must be an object such as {{"type": "String"}}.')
    unknown = sorted(set(spec) - set(_FIELD_OPTIONS))
    if unknown:
        raise SchemaDocumentError(f"{_where(class_name, name)} has unknown option(s): {', '.join(unknown)}.")
    kind = spec.get("type")
    if not isinstance(kind, str) or kind not in FIELD_TYPES:
        raise SchemaDocumentError(f"{_where(class_name, name)}.type must be one of {', '.join(sorted(FIELD_TYPES))}.")
    if kind in {"Pointer", "Relation"} and not isinstance(spec.get("targetClass"), str):
        raise SchemaDocumentError(f"{_where(class_name, name)} is a {kind} and needs a targetClass.")
    if "required" in spec and not isinstance(spec["required"], bool):
        raise SchemaDocumentError(f"{_where(class_name, name)}.required must be true or false.")
    return field_spec_normalized(spec)


def _object(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SchemaDocumentError(f"{where} must be an object.")
    return value


def _class_checked(class_name: Any, body: Any) -> tuple[str, ClassSpec]:
    if not isinstance(class_name, str):
        raise SchemaDocumentError("class names must be strings.")
    try:
        validate_class_name(class_name)
    except ParseError as exc:
        raise SchemaDocumentError(f"classes.{class_name}: {exc.message}") from exc
    body = _object(body, _where(class_name))
    unknown = sorted(set(body) - {"fields", "classLevelPermissions", "indexes"})
    if unknown:
        raise SchemaDocumentError(f"{_where(class_name)} has unknown key(s): {', '.join(unknown)}.")
    builtins = builtin_fields(class_name)
    fields = {}
    for name, spec in _object(body.get("fields"), f"{_where(class_name)}.fields").items():
        if name in builtins:
            raise SchemaDocumentError(f"{_where(class_name, name)} is built in; leave it out of the file.")
        fields[name] = _field_checked(class_name, name, spec)
    clp = body.get("classLevelPermissions")
    indexes = _object(body.get("indexes"), f"{_where(class_name)}.indexes")
    for name, key in indexes.items():
        if not isinstance(key, dict) or not key:
            raise SchemaDocumentError(f'{_where(class_name)}.indexes.{name} must be an object like {{"field": 1}}.')
    indexes = {name: key for name, key in indexes.items() if name != PRIMARY_INDEX}
    spec = ClassSpec(fields, copy.deepcopy(_object(clp, f"{_where(class_name)}.classLevelPermissions")), indexes)
    if clp is None:
        spec.clp = default_clp(class_name)
    return class_name, spec


def document_parse(raw: Any) -> SchemaDocument:
    """The file's content (already decoded from JSON or YAML), checked against the format."""
    if not isinstance(raw, dict):
        raise SchemaDocumentError("The schema file must be an object with a 'classes' key.")
    unknown = sorted(set(raw) - {"hangarSchema", "classes", "liveQuery"})
    if unknown:
        raise SchemaDocumentError(f"Unknown top-level key(s): {', '.join(unknown)}.")
    if raw.get("hangarSchema", FORMAT_VERSION) != FORMAT_VERSION:
        raise SchemaDocumentError(f"hangarSchema must be {FORMAT_VERSION} (this Hangar reads version 1 files).")
    classes = dict(_class_checked(name, body) for name, body in _object(raw.get("classes"), "classes").items())
    live_query = None
    if raw.get("liveQuery") is not None:
        names = _object(raw["liveQuery"], "liveQuery").get("classes", [])
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            raise SchemaDocumentError("liveQuery.classes must be a list of class names.")
        for name in names:
            try:
                validate_class_name(name)
            except ParseError as exc:
                raise SchemaDocumentError(f"liveQuery.classes: {exc.message}") from exc
        live_query = sorted(set(names))
    for class_name in SYSTEM_CLASS_FIELDS:  # always there: the file need not mention them
        classes.setdefault(class_name, ClassSpec(clp=default_clp(class_name)))
    return SchemaDocument(classes, live_query)


def document_render(document: SchemaDocument) -> dict[str, Any]:
    """The document as the file holds it: built-ins, default CLPs and untouched system classes left out."""
    classes: dict[str, Any] = {}
    for name, spec in sorted(document.classes.items()):
        body: dict[str, Any] = {}
        if spec.fields:
            body["fields"] = {key: spec.fields[key] for key in sorted(spec.fields)}
        if spec.clp != default_clp(name):
            body["classLevelPermissions"] = spec.clp
        if spec.indexes:
            body["indexes"] = spec.indexes
        if body or name not in SYSTEM_CLASS_FIELDS:
            classes[name] = body
    out: dict[str, Any] = {"hangarSchema": FORMAT_VERSION, "classes": classes}
    if document.live_query is not None:
        out["liveQuery"] = {"classes": document.live_query}
    return out


def class_spec_from_stored(
    class_name: str, fields: dict[str, Any], clp: dict[str, Any], indexes: dict[str, Any]
) -> ClassSpec:
    builtins = builtin_fields(class_name)
    own = {name: field_spec_normalized(spec) for name, spec in fields.items() if name not in builtins}
    return ClassSpec(own, copy.deepcopy(clp), {k: v for k, v in (indexes or {}).items() if k != PRIMARY_INDEX})
