"""The language-neutral description every generator reads: an app's classes, fields and typed functions.

Built from the schema registry's field specs (Parse's ``{"type": ..., "targetClass": ...}``) and the
handlers the active cloud-code version declared (hangar_cloud._registry.describe). Its hash is the
SDK version's identity: the same schema and functions always give the same SDK.
"""

from __future__ import annotations

import hashlib
import json
import keyword
import re
from dataclasses import asdict, dataclass, field
from typing import Any

# Parse's field types (reference, "Schemas"); anything else in a stored schema is treated as Object.
FIELD_TYPES = frozenset(
    {"String", "Number", "Boolean", "Date", "Object", "Array", "Pointer", "Relation", "File", "GeoPoint",
     "Polygon", "Bytes", "ACL"}
)  # fmt: skip
SYSTEM_FIELDS = frozenset({"objectId", "createdAt", "updatedAt", "ACL"})
# _User fields an SDK never exposes as typed properties: the password is write-only (sign-up takes
# it), authData holds provider tokens, and the session token is the SDK's own business.
_USER_HIDDEN_FIELDS = frozenset({"password", "authData", "sessionToken"})
USER_CLASS = "_User"
# Names the SDK runtimes (and Java's java.lang) already use: a class called so gets "Object" appended.
RUNTIME_TYPE_NAMES = frozenset(
    {"ACL", "AppClient", "ArrayField", "AsyncClient", "AsyncFunctions", "AsyncQuery", "Boolean", "BooleanField",
     "ClassDef", "Client", "ClientOptions", "Config", "Constraint", "DateField", "Date", "Double", "Field",
     "FileSessionStore", "Functions", "GeoPoint", "GeoPointField", "Instant", "Integer", "Json", "List",
     "LiveQueryClient", "Long", "Map", "MemorySessionStorage", "MemorySessionStore", "Number", "NumberField",
     "Object", "ObjectField", "OfflineQueue", "OpaqueField", "ParseError", "ParseFile", "ParseObject",
     "PointerField", "Query", "Relation", "SessionStorage", "SessionStore", "String", "StringField", "System",
     "WebSessionStorage", "Record", "Promise", "Math", "Error"}
)  # fmt: skip

# What a function annotation's ``__name__`` (as the sandbox recorded it) means on the wire.
_FUNCTION_TYPES = {
    "str": "string", "int": "integer", "float": "number", "bool": "boolean", "dict": "object",
    "list": "array", "None": "null", "NoneType": "null",
}  # fmt: skip

_IDENTIFIER = re.compile(r"[^A-Za-z0-9_]")
# Parse's class and field names (hangar.datastore.names); anything else in a stored schema is left out,
# so every name a generator writes into code is a plain identifier.
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
# What of the app's name and id may appear in generated comments, docstrings and metadata.
_UNSAFE_TEXT = re.compile(r"[^A-Za-z0-9 ._-]")


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str
    target_class: str | None = None
    required: bool = False


@dataclass(frozen=True)
class ClassSpec:
    """One data class; ``type_name`` is what SDKs call it (``_User`` becomes ``User``)."""

    class_name: str
    type_name: str
    fields: tuple[FieldSpec, ...]

    @property
    def is_user(self) -> bool:
        return self.class_name == USER_CLASS


@dataclass(frozen=True)
class ParamSpec:
    name: str
    type: str  # string, integer, number, boolean, object, array, null or any


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    method_name: str  # an identifier every target language accepts
    params: tuple[ParamSpec, ...]
    returns: str


@dataclass(frozen=True)
class AppSpec:
    app_name: str
    application_id: str
    classes: tuple[ClassSpec, ...]
    functions: tuple[FunctionSpec, ...]
    slug: str = field(default="")
    display_name: str = field(default="")  # the app's name reduced to characters safe in any comment

    def class_named(self, class_name: str) -> ClassSpec | None:
        return next((c for c in self.classes if c.class_name == class_name), None)

    def type_name_of(self, class_name: str | None) -> str | None:
        """The SDK type of a pointer target, or None when the target is not generated (a system class)."""
        spec = self.class_named(class_name or "")
        return spec.type_name if spec else None

    def schema_document(self) -> dict[str, Any]:
        """What the schema hash covers: classes, fields and functions (not the app's name or id)."""
        return {
            "classes": [asdict(c) for c in self.classes],
            "functions": [asdict(f) for f in self.functions],
        }

    @property
    def schema_hash(self) -> str:
        canonical = json.dumps(self.schema_document(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def slug_of(app_name: str) -> str:
    """A lower-case identifier for package names (``my-app`` -> ``my_app``)."""
    slug = _IDENTIFIER.sub("_", app_name.strip().lower()).strip("_") or "app"
    slug = re.sub(r"_+", "_", slug)
    if slug[0].isdigit() or keyword.iskeyword(slug):
        slug = f"app_{slug}"
    return slug[:40]


def _field_spec(name: str, raw: dict[str, Any]) -> FieldSpec:
    kind = raw.get("type") if raw.get("type") in FIELD_TYPES else "Object"
    target = raw.get("targetClass") if kind in {"Pointer", "Relation"} else None
    if target is not None and not (isinstance(target, str) and (_NAME.fullmatch(target) or target == USER_CLASS)):
        kind, target = "Object", None
    return FieldSpec(name=name, type=str(kind), target_class=str(target) if target else None,
                     required=bool(raw.get("required")))  # fmt: skip


def _generated_classes(schemas: dict[str, dict[str, Any]]) -> list[str]:
    """The app's own classes and ``_User``; other system classes stay with the platform."""
    return sorted(name for name in schemas if name == USER_CLASS or _NAME.fullmatch(name))


def _class_specs(schemas: dict[str, dict[str, Any]]) -> tuple[ClassSpec, ...]:
    names = _generated_classes(schemas)
    taken = set(names)
    specs = []
    for class_name in names:
        type_name = class_name
        if class_name == USER_CLASS:
            type_name = "User" if "User" not in taken else "AppUser"
        if type_name in RUNTIME_TYPE_NAMES or type_name.endswith("Fields"):
            type_name = f"{type_name}Object"
        hidden = _USER_HIDDEN_FIELDS if class_name == USER_CLASS else frozenset()
        fields = tuple(
            _field_spec(name, raw)
            for name, raw in sorted(schemas[class_name].items())
            if name not in SYSTEM_FIELDS and name not in hidden and isinstance(raw, dict) and _NAME.fullmatch(name)
        )
        specs.append(ClassSpec(class_name=class_name, type_name=type_name, fields=fields))
    return tuple(specs)


def _method_name(name: str, taken: set[str]) -> str:
    base = _IDENTIFIER.sub("_", name) or "function"
    if base[0].isdigit():
        base = f"fn_{base}"
    candidate, suffix = base, 2
    while candidate in taken:
        candidate, suffix = f"{base}_{suffix}", suffix + 1
    taken.add(candidate)
    return candidate


def _declared_order(params: dict[str, Any], order: Any) -> list[str]:
    """The parameters in their declaration order when the bundle recorded it (``paramOrder``), else by name
    (versions deployed before it was recorded: their jsonb row kept no order)."""
    if isinstance(order, list) and sorted(map(str, order)) == sorted(params) and len(order) == len(params):
        return [str(name) for name in order]
    return sorted(params)


def _function_specs(handlers: dict[str, Any]) -> tuple[FunctionSpec, ...]:
    taken: set[str] = set()
    specs = []
    for entry in sorted(handlers.get("functions") or [], key=lambda e: str(e.get("name", ""))):
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            continue
        raw_params = entry.get("params") if isinstance(entry.get("params"), dict) else {}
        params = tuple(
            ParamSpec(name=param, type=_FUNCTION_TYPES.get(str(raw_params[param]), "any"))
            for param in _declared_order(raw_params, entry.get("paramOrder"))
            if isinstance(param, str) and param.isidentifier()
        )
        returns = _FUNCTION_TYPES.get(str(entry.get("returns", "any")), "any")
        specs.append(FunctionSpec(name=name, method_name=_method_name(name, taken), params=params, returns=returns))
    return tuple(specs)


def app_spec_build(
    *, app_name: str, application_id: str, schemas: dict[str, dict[str, Any]], handlers: dict[str, Any]
) -> AppSpec:
    """The spec of one app from its schemas (class name -> fields) and its active code's handlers."""
    return AppSpec(
        app_name=app_name,
        application_id=_UNSAFE_TEXT.sub("", application_id).replace(" ", ""),
        classes=_class_specs(schemas),
        functions=_function_specs(handlers),
        slug=slug_of(app_name),
        display_name=" ".join(_UNSAFE_TEXT.sub("", app_name).split())[:100] or "app",
    )


def safe_identifier(name: str, reserved: frozenset[str], suffix: str = "_") -> str:
    """``name`` unless a language reserves it, then with ``suffix`` appended."""
    return f"{name}{suffix}" if name in reserved else name
