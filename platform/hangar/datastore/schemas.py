"""``/schemas`` and ``/purge`` (reference §13.1, §7): create, change, drop and empty classes.

Master-key services. A change locks the class's schema row (``FOR UPDATE``) and is
written in one ``app_transaction``: dropping a field removes its data from every object
(and a Relation's rows) in that same transaction. After the commit the app's schema
version is bumped (``schema_changed``) so that every process reloads, and only then
does index DDL run, because it cannot run inside a transaction (hangar.datastore.indexes).
An index that fails to build is taken out of the schema again. Validation and messages
follow Parse Server's SchemaController.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from hangar.caller import Caller
from hangar.datastore.class_rules import class_rules
from hangar.datastore.clp import clp_validate
from hangar.datastore.connection import after_commit, app_transaction
from hangar.datastore.indexes import (
    PRIMARY_INDEX,
    IndexChanges,
    index_changes,
    index_sql_name,
    indexes_build,
    indexes_drop,
)
from hangar.datastore.names import SYSTEM_CLASSES, is_valid_field_name, validate_class_name
from hangar.datastore.schema_registry import app_schemas, app_schemas_forget, field_count_check, schema_changed
from hangar.datastore.system_classes import DEFAULT_FIELDS, SYSTEM_CLASS_FIELDS, default_class_level_permissions
from hangar.datastore.values import TYPES, encode_value, infer_type, type_label, types_compatible
from hangar.parse_errors import (
    CHANGED_IMMUTABLE_FIELD,
    INCORRECT_TYPE,
    INVALID_CLASS_NAME,
    INVALID_JSON,
    INVALID_KEY_NAME,
    INVALID_QUERY,
    INVALID_SCHEMA_OPERATION,
    MISSING_REQUIRED_FIELD,
    ParseError,
)

FIELD_TYPES = TYPES - {"ACL"}  # ACL is implicit: every class has it
# Dropping a field or emptying a class rewrites every row of the class: a master-key
# operation that may legitimately outlast the data plane's per-statement timeout, and
# that could never succeed if it were cut off (it would roll back each time).
_NO_TIMEOUT_SQL = "SELECT set_config('statement_timeout', '0', true)"


@dataclass
class SchemaState:
    """A class's schema as stored (fields, CLP, declared indexes) and what a change does to indexes."""

    class_name: str
    fields: dict[str, dict[str, Any]]
    clp: dict[str, Any]
    indexes: dict[str, dict[str, Any]]
    index_changes: IndexChanges | None = None

    def wire(self) -> dict[str, Any]:
        """The ``/schemas`` representation; ``indexes`` only when some are declared, as Parse Server answers."""
        out: dict[str, Any] = {
            "className": self.class_name,
            "fields": copy.deepcopy(self.fields),
            "classLevelPermissions": copy.deepcopy(self.clp),
        }
        if self.indexes:
            out["indexes"] = {PRIMARY_INDEX: {"_id": 1}, **copy.deepcopy(self.indexes)}
        return out


def _class_defaults(class_name: str) -> dict[str, dict[str, Any]]:
    return {**DEFAULT_FIELDS, **SYSTEM_CLASS_FIELDS.get(class_name, {})}


def _invalid_json() -> ParseError:
    return ParseError(INVALID_JSON, "invalid JSON")


def _does_not_exist(class_name: str) -> ParseError:
    return ParseError(INVALID_CLASS_NAME, f"Class {class_name} does not exist.")


def _checked_type(class_name: str, name: str, spec: Any) -> dict[str, Any]:
    """A field's type with its options (``required``, ``defaultValue``), validated and normalized."""
    if not isinstance(spec, dict):
        raise _invalid_json()
    kind = spec.get("type")
    out: dict[str, Any] = {"type": kind}
    if kind in {"Pointer", "Relation"}:
        target = spec.get("targetClass")
        if not target:
            raise ParseError(MISSING_REQUIRED_FIELD, f"type {kind} needs a class name")
        if not isinstance(target, str):
            raise _invalid_json()
        out["targetClass"] = validate_class_name(target)
    elif not isinstance(kind, str):
        raise _invalid_json()
    elif kind not in FIELD_TYPES:
        raise ParseError(INCORRECT_TYPE, f"invalid field type: {kind}")
    if spec.get("defaultValue") is not None:
        if kind == "Relation":
            raise ParseError(INCORRECT_TYPE, f"The 'default value' option is not applicable for {type_label(out)}")
        value = encode_value(spec["defaultValue"])
        found = infer_type(value)
        if found is None or not types_compatible(out, found):
            raise ParseError(
                INCORRECT_TYPE,
                f"schema mismatch for {class_name}.{name} default value; "
                f"expected {type_label(out)} but got {type_label(found or {'type': 'null'})}",
            )
        out["defaultValue"] = value
    if "required" in spec:
        if not isinstance(spec["required"], bool):
            raise _invalid_json()
        if kind == "Relation" and spec["required"]:
            raise ParseError(INCORRECT_TYPE, f"The 'required' option is not applicable for {type_label(out)}")
        out["required"] = spec["required"]
    return out


def _new_field(class_name: str, name: str, spec: Any) -> dict[str, Any]:
    if not is_valid_field_name(name):
        raise ParseError(INVALID_KEY_NAME, f"invalid field name: {name}")
    if name in _class_defaults(class_name):
        raise ParseError(CHANGED_IMMUTABLE_FIELD, f"field {name} cannot be added")
    return _checked_type(class_name, name, spec)


def _is_delete(spec: Any) -> bool:
    return isinstance(spec, dict) and spec.get("__op") == "Delete"


def _check_existence(current: dict[str, dict[str, Any]], submitted: dict[str, Any]) -> None:
    for name, spec in submitted.items():
        existing = current.get(name)
        if (
            existing is not None
            and not _is_delete(spec)
            and (not isinstance(spec, dict) or spec.get("type") != existing["type"])
        ):
            raise ParseError(INVALID_SCHEMA_OPERATION, f"Field {name} exists, cannot update.")
        if existing is None and _is_delete(spec):
            raise ParseError(INVALID_SCHEMA_OPERATION, f"Field {name} does not exist, cannot delete.")


def _changed_fields(
    class_name: str, current: dict[str, dict[str, Any]], submitted: Any
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """The fields after a PUT, and the fields it deletes."""
    if not isinstance(submitted, dict):
        raise ParseError(INVALID_JSON, "fields must be an object.")
    _check_existence(current, submitted)
    fields, deleted = dict(current), {}
    for name, spec in submitted.items():
        if _is_delete(spec):
            if name in _class_defaults(class_name):
                raise ParseError(CHANGED_IMMUTABLE_FIELD, f"field {name} cannot be changed")
            deleted[name] = fields.pop(name)
        elif name in current:  # same type: its options (required, defaultValue) change
            if name in DEFAULT_FIELDS:
                raise ParseError(CHANGED_IMMUTABLE_FIELD, f"field {name} cannot be changed")
            fields[name] = _checked_type(class_name, name, spec)
            if not types_compatible(current[name], fields[name]):
                raise ParseError(
                    INCORRECT_TYPE,
                    f"schema mismatch for {class_name}.{name}; "
                    f"expected {type_label(current[name])} but got {type_label(fields[name])}",
                )
        else:
            fields[name] = _new_field(class_name, name, spec)
    return fields, deleted


def _check_geopoints(fields: dict[str, dict[str, Any]]) -> None:
    if sum(1 for spec in fields.values() if spec.get("type") == "GeoPoint") > 1:
        raise ParseError(INCORRECT_TYPE, "there can only be one geopoint field in a class")


def _planned(caller: Caller, state: SchemaState, body: dict[str, Any]) -> SchemaState:
    """Apply the CLP and index parts of a request to a state whose fields are already final."""
    _check_geopoints(state.fields)
    if body.get("classLevelPermissions") is not None:
        state.clp = clp_validate(body["classLevelPermissions"], state.fields)
    changes = index_changes(
        app_pk=caller.app_pk, class_name=state.class_name, current=state.indexes,
        submitted=body.get("indexes"), fields=state.fields,
    )  # fmt: skip
    state.indexes = changes.indexes
    state.index_changes = changes
    return state


def _body(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise _invalid_json()
    return body


async def _locked_state(conn: AsyncConnection, app_pk: int, class_name: str) -> SchemaState | None:
    cursor = await conn.execute(
        "SELECT fields, class_level_permissions, indexes FROM datastore_schemaclass "
        "WHERE app_id = %s AND class_name = %s FOR UPDATE",
        [app_pk, class_name],
    )
    row = await cursor.fetchone()
    return None if row is None else SchemaState(class_name, row[0], row[1], row[2] or {})


async def _committed(app_pk: int, state: SchemaState, dropped_indexes: list[str] | None = None) -> None:
    """After the commit: let every process reload, then run index DDL (never inside a transaction)."""
    await schema_changed(app_pk)
    changes = state.index_changes
    await indexes_drop([*(dropped_indexes or []), *(changes.drop if changes else [])])
    if not changes or not changes.create:
        return
    failed = await indexes_build(app_pk, state.class_name, changes.create)
    if failed:
        async with app_transaction(app_pk) as conn:
            await conn.execute(
                "UPDATE datastore_schemaclass SET indexes = indexes - %s::text[], updated_at = now() "
                "WHERE app_id = %s AND class_name = %s",
                [failed, app_pk, state.class_name],
            )
        await schema_changed(app_pk)
        raise ParseError(INVALID_QUERY, f"The schema was saved, but index {failed[0]} could not be built.")


async def schema_list(*, caller: Caller) -> dict[str, Any]:
    schemas = await app_schemas(caller.app_pk, caller.schema_version)
    return {
        "results": [
            SchemaState(name, schema.fields, schema.clp, schema.indexes).wire()
            for name, schema in sorted(schemas.classes.items())
        ]
    }


async def schema_get(*, caller: Caller, class_name: str) -> dict[str, Any]:
    schema = (await app_schemas(caller.app_pk, caller.schema_version)).classes.get(class_name)
    if schema is None:
        raise _does_not_exist(class_name)
    return SchemaState(class_name, schema.fields, schema.clp, schema.indexes).wire()


def _name_for_create(path_class: str | None, body: dict[str, Any]) -> str:
    body_class = body.get("className")
    if path_class and body_class is not None and body_class != path_class:
        raise ParseError(INVALID_CLASS_NAME, f"Class name mismatch between {body_class} and {path_class}.")
    name = path_class or body_class
    if not name:
        raise ParseError(MISSING_REQUIRED_FIELD, "POST /schemas needs a class name.")
    if not isinstance(name, str):
        raise _invalid_json()
    return validate_class_name(name)


async def schema_create(*, caller: Caller, class_name: str | None, body: Any) -> dict[str, Any]:
    """Create a class with its fields, CLP (default: public) and indexes; 103 if it exists."""
    body = _body(body)
    class_name = _name_for_create(class_name, body)
    async with app_transaction(caller.app_pk) as conn:
        if await _locked_state(conn, caller.app_pk, class_name) is not None:
            raise ParseError(INVALID_CLASS_NAME, f"Class {class_name} already exists.")
        submitted = body.get("fields") or {}
        if not isinstance(submitted, dict):
            raise ParseError(INVALID_JSON, "fields must be an object.")
        fields = {**DEFAULT_FIELDS, **{name: _new_field(class_name, name, spec) for name, spec in submitted.items()}}
        field_count_check(class_name, len(DEFAULT_FIELDS), len(fields))
        state = _planned(caller, SchemaState(class_name, fields, default_class_level_permissions(), {}), body)
        cursor = await conn.execute(
            "INSERT INTO datastore_schemaclass (app_id, class_name, fields, class_level_permissions, indexes, "
            "created_at, updated_at) VALUES (%s, %s, %s, %s, %s, now(), now()) ON CONFLICT DO NOTHING RETURNING 1",
            [caller.app_pk, class_name, Jsonb(state.fields), Jsonb(state.clp), Jsonb(state.indexes)],
        )
        if await cursor.fetchone() is None:
            raise ParseError(INVALID_CLASS_NAME, f"Class {class_name} already exists.")
    app_schemas_forget(caller.app_pk)
    await after_commit(lambda: _committed(caller.app_pk, state))
    return state.wire()


async def _drop_field_data(conn: AsyncConnection, app_pk: int, class_name: str, deleted: dict[str, Any]) -> None:
    names = list(deleted)
    await conn.execute(_NO_TIMEOUT_SQL)
    await conn.execute(
        "UPDATE datastore_object SET data = data - %s::text[] "
        "WHERE app_id = %s AND class_name = %s AND data ?| %s::text[]",
        [names, app_pk, class_name, names],
    )
    relations = [name for name, spec in deleted.items() if spec.get("type") == "Relation"]
    if relations:
        await conn.execute(
            "DELETE FROM datastore_relation WHERE app_id = %s AND owner_class = %s AND key = ANY(%s::text[])",
            [app_pk, class_name, relations],
        )


async def schema_update(*, caller: Caller, class_name: str, body: Any) -> dict[str, Any]:
    """Add or delete fields (deleting removes their data), replace the CLP, add or drop indexes."""
    body = _body(body)
    if body.get("className") is not None and body["className"] != class_name:
        raise ParseError(INVALID_CLASS_NAME, f"Class name mismatch between {body['className']} and {class_name}.")
    validate_class_name(class_name)
    async with app_transaction(caller.app_pk) as conn:
        state = await _locked_state(conn, caller.app_pk, class_name)
        if state is None:
            raise _does_not_exist(class_name)
        before = len(state.fields)
        state.fields, deleted = _changed_fields(class_name, state.fields, body.get("fields") or {})
        field_count_check(class_name, before, len(state.fields))
        state = _planned(caller, state, body)
        await conn.execute(
            "UPDATE datastore_schemaclass SET fields = %s, class_level_permissions = %s, indexes = %s, "
            "updated_at = now() WHERE app_id = %s AND class_name = %s",
            [Jsonb(state.fields), Jsonb(state.clp), Jsonb(state.indexes), caller.app_pk, class_name],
        )
        if deleted:
            await _drop_field_data(conn, caller.app_pk, class_name, deleted)
    app_schemas_forget(caller.app_pk)
    await after_commit(lambda: _committed(caller.app_pk, state))
    return state.wire()


async def schema_delete(*, caller: Caller, class_name: str) -> None:
    """Drop an empty class (255 if it holds objects); dropping a missing class succeeds, as in Parse Server."""
    validate_class_name(class_name)
    if class_name in SYSTEM_CLASSES:
        raise ParseError(INVALID_SCHEMA_OPERATION, f"Class {class_name} is a system class, cannot drop schema.")
    async with app_transaction(caller.app_pk) as conn:
        state = await _locked_state(conn, caller.app_pk, class_name)
        if state is None:
            return
        cursor = await conn.execute(
            "SELECT count(*) FROM datastore_object WHERE app_id = %s AND class_name = %s", [caller.app_pk, class_name]
        )
        row = await cursor.fetchone()
        count = row[0] if row else 0
        if count:
            raise ParseError(
                INVALID_SCHEMA_OPERATION,
                f"Class {class_name} is not empty, contains {count} objects, cannot drop schema.",
            )
        await conn.execute(
            "DELETE FROM datastore_relation WHERE app_id = %s AND owner_class = %s", [caller.app_pk, class_name]
        )
        await conn.execute(
            "DELETE FROM datastore_schemaclass WHERE app_id = %s AND class_name = %s", [caller.app_pk, class_name]
        )
    app_schemas_forget(caller.app_pk)
    dropped = [index_sql_name(caller.app_pk, class_name, name) for name in state.indexes]
    await after_commit(lambda: _committed(caller.app_pk, SchemaState(class_name, {}, {}, {}), dropped))


async def class_purge(*, caller: Caller, class_name: str) -> None:
    """Delete every object of a class and the relation rows they own; the schema stays."""
    validate_class_name(class_name)
    async with app_transaction(caller.app_pk) as conn:
        await conn.execute(_NO_TIMEOUT_SQL)
        await conn.execute(
            "DELETE FROM datastore_object WHERE app_id = %s AND class_name = %s", [caller.app_pk, class_name]
        )
        await conn.execute(
            "DELETE FROM datastore_relation WHERE app_id = %s AND owner_class = %s", [caller.app_pk, class_name]
        )

    async def committed() -> None:
        # A purged _Session revokes its tokens in every process, a purged _Role its grants.
        await class_rules(class_name).changed(caller.app_pk)

    await after_commit(committed)
