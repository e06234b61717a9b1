"""Finding a class's schema for an operation: existence, client class creation, CLP, new fields."""

from __future__ import annotations

from typing import Any

from hangar.caller import Caller
from hangar.datastore.names import validate_class_name
from hangar.datastore.permissions import clp_check
from hangar.datastore.schema_registry import ClassSchema, app_schemas, class_fields_ensure, new_fields_check
from hangar.datastore.values import type_label, types_compatible
from hangar.parse_errors import INCORRECT_TYPE, OPERATION_FORBIDDEN, ParseError


def _missing_class(class_name: str) -> ParseError:
    return ParseError(OPERATION_FORBIDDEN, f"This user is not allowed to access non-existent class: {class_name}")


async def class_for_read(caller: Caller, class_name: str) -> ClassSchema | None:
    """The class's schema, None if it does not exist and the caller may create it (empty results)."""
    validate_class_name(class_name)
    schemas = await app_schemas(caller.app_pk, caller.schema_version)
    schema = schemas.classes.get(class_name)
    if schema is None and not (caller.is_master or caller.client_class_creation):
        raise _missing_class(class_name)
    return schema


def _new_fields(schema: ClassSchema, inferred: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    new: dict[str, dict[str, Any]] = {}
    for name, spec in inferred.items():
        existing = schema.fields.get(name)
        if existing is None:
            new[name] = spec
        elif not types_compatible(existing, spec) and not (existing["type"] == "Object" and spec["type"] == "Object"):
            raise ParseError(
                INCORRECT_TYPE,
                f"schema mismatch for {schema.class_name}.{name}; "
                f"expected {type_label(existing)} but got {type_label(spec)}",
            )
    return new


async def class_for_write(
    caller: Caller, class_name: str, operation: str, inferred: dict[str, dict[str, Any]]
) -> tuple[ClassSchema, list[str]]:
    """The class's schema with every inferred field recorded; returns it and any pointer-permission fields."""
    validate_class_name(class_name)
    schemas = await app_schemas(caller.app_pk, caller.schema_version)
    schema = schemas.classes.get(class_name)
    if schema is None:
        # Off by default, as in Parse Server 7+: a client's first save to a new class answers 119.
        if not (caller.is_master or caller.client_class_creation):
            raise _missing_class(class_name)
        schema = await class_fields_ensure(app_pk=caller.app_pk, class_name=class_name, wanted={}, create_class=True)
    pointer_fields = clp_check(schema, operation, caller)
    additions = _new_fields(schema, inferred)
    if additions:
        clp_check(schema, "addField", caller)
        new_fields_check(class_name, len(additions))
        schema = await class_fields_ensure(
            app_pk=caller.app_pk, class_name=class_name, wanted=additions, create_class=False
        )
    return schema, pointer_fields
