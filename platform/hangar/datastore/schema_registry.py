"""Class schemas on the data plane: a per-process cache and schema-on-write.

Each app's schemas are loaded from ``datastore_schemaclass`` once and kept with the
app's schema version counter from Redis. The gateway reads that counter in its
per-request pipeline (hangar.admission.registry), so a field added by one process is
seen by every other process on its next request. Adding fields locks the class row, so
two writers that infer different types for the same new field cannot both win.

Schema-on-write is an extension point: after the commit, every hook registered with
``on_fields_added`` is told the class as it was and as it is (hangar.schema_history records
it as a migration), so the datastore need not know who listens.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import orjson
from django.conf import settings
from psycopg.types.json import Jsonb

from hangar.bounded_cache import LruCache
from hangar.datastore.connection import after_commit, app_read, app_transaction
from hangar.datastore.system_classes import DEFAULT_FIELDS, default_class_level_permissions
from hangar.datastore.values import type_label, types_compatible
from hangar.parse_errors import INCORRECT_TYPE, INVALID_SCHEMA_OPERATION, OPERATION_FORBIDDEN, ParseError
from hangar.redis_async import get_redis

log = logging.getLogger(__name__)
# (app_pk, class_name, the class before as /schemas shows it or None if new, the class after).
FieldsAddedHook = Callable[[int, str, dict[str, Any] | None, dict[str, Any]], Awaitable[None]]
_fields_added_hooks: list[FieldsAddedHook] = []


def on_fields_added(hook: FieldsAddedHook) -> None:
    """Have ``hook`` told of every class or field schema-on-write adds, after the commit."""
    if hook not in _fields_added_hooks:
        _fields_added_hooks.append(hook)


def schema_version_key(app_pk: int) -> str:
    return f"hangar:schemaver:{app_pk}"


@dataclass(frozen=True)
class ClassSchema:
    class_name: str
    fields: dict[str, dict[str, Any]]
    clp: dict[str, Any]
    indexes: dict[str, Any]

    def field_type(self, name: str) -> dict[str, Any] | None:
        return self.fields.get(name)

    def relation_fields(self) -> list[tuple[str, str]]:
        return self._relation_fields

    # Per-field work is done once per loaded schema, not on every write or read of the class.
    @cached_property
    def _relation_fields(self) -> list[tuple[str, str]]:
        return [(name, spec.get("targetClass", "")) for name, spec in self.fields.items() if spec["type"] == "Relation"]

    @cached_property
    def write_defaults(self) -> list[tuple[str, dict[str, Any]]]:
        """Fields a create fills in or insists on: those with a ``defaultValue`` or ``required``."""
        return [
            (name, spec)
            for name, spec in self.fields.items()
            if ("defaultValue" in spec or spec.get("required")) and name not in DEFAULT_FIELDS
        ]

    @cached_property
    def stored_as_wire(self) -> bool:
        """Whether a stored object of this class is its wire form minus the system fields.

        True for an app's own class (its field names cannot start with "_", so no internal
        field hides in ``data``) without Relation fields (added on the way out) and without
        File or Array fields (file URLs are added on the way out).
        """
        return not self.class_name.startswith("_") and not any(
            spec["type"] in {"Relation", "File", "Array"} for spec in self.fields.values()
        )


@dataclass
class AppSchemas:
    classes: dict[str, ClassSchema] = field(default_factory=dict)
    version: bytes | None = None

    def as_mapping(self) -> dict[str, dict[str, dict[str, Any]]]:
        return {name: schema.fields for name, schema in self.classes.items()}


_cache: LruCache[int, AppSchemas] = LruCache("schemas", lambda: settings.HANGAR_CACHE_MAX_APPS)

_LOAD_SQL = "SELECT class_name, fields, class_level_permissions, indexes FROM datastore_schemaclass WHERE app_id = %s"


async def _load(app_pk: int, version: bytes | None) -> AppSchemas:
    rows = await app_read(app_pk, lambda conn: conn.fetch_all(_LOAD_SQL, [app_pk]), bound=True)
    schemas = AppSchemas(
        classes={name: ClassSchema(name, fields, clp, indexes) for name, fields, clp, indexes in rows},
        version=version,
    )
    _cache[app_pk] = schemas
    return schemas


async def app_schemas(app_pk: int, version: bytes | None) -> AppSchemas:
    """The app's schemas as of ``version`` (the counter the gateway read for this request)."""
    cached = _cache.get(app_pk)
    if cached is not None and cached.version == version:
        return cached
    return await _load(app_pk, version)


def app_schemas_forget(app_pk: int) -> None:
    _cache.pop(app_pk, None)


def field_count_check(class_name: str, current: int, after: int) -> None:
    """Refuse a change that grows a class past ``HANGAR_MAX_FIELDS_PER_CLASS`` (255)."""
    limit = settings.HANGAR_MAX_FIELDS_PER_CLASS
    if after > current and after > limit:
        raise ParseError(
            INVALID_SCHEMA_OPERATION,
            f"Class {class_name} may have at most {limit} fields; this change would give it {after}.",
        )


def new_fields_check(class_name: str, count: int) -> None:
    """Refuse one object write that would add more than ``HANGAR_MAX_NEW_FIELDS_PER_WRITE`` fields (255)."""
    limit = settings.HANGAR_MAX_NEW_FIELDS_PER_WRITE
    if count > limit:
        raise ParseError(
            INVALID_SCHEMA_OPERATION,
            f"One write may add at most {limit} new fields to {class_name}; this one adds {count}. "
            "Declare more fields with /schemas.",
        )


def _merge_fields(
    class_name: str, current: dict[str, dict[str, Any]], wanted: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Fields to add; raise 111 when a wanted type conflicts with the recorded one."""
    additions = {}
    for name, spec in wanted.items():
        existing = current.get(name)
        if existing is None:
            additions[name] = spec
        elif not types_compatible(existing, spec):
            raise ParseError(
                INCORRECT_TYPE,
                f"schema mismatch for {class_name}.{name}; expected {type_label(existing)} but got {type_label(spec)}",
            )
    return additions


async def class_fields_ensure(
    *, app_pk: int, class_name: str, wanted: dict[str, dict[str, Any]], create_class: bool
) -> ClassSchema:
    """Record new fields (and the class itself if ``create_class``); return the updated schema."""
    for _attempt in range(2):  # a concurrent creation of the same class makes the first insert a no-op
        schema, changed, before = await _ensure_once(app_pk, class_name, wanted, create_class)
        if schema is not None:
            if changed:
                app_schemas_forget(app_pk)
                await after_commit(_fields_added_work(app_pk, before, schema))
            return schema
    raise ParseError(INCORRECT_TYPE, f"Could not record the schema of {class_name}; try again.")


def _wire(schema: ClassSchema) -> dict[str, Any]:
    return {"fields": schema.fields, "classLevelPermissions": schema.clp, "indexes": schema.indexes}


def _fields_added_work(app_pk: int, before: ClassSchema | None, after: ClassSchema) -> Callable[[], Awaitable[None]]:
    return lambda: _fields_added(app_pk, before, after)


async def _fields_added(app_pk: int, before: ClassSchema | None, after: ClassSchema) -> None:
    await schema_changed(app_pk)
    for hook in _fields_added_hooks:
        try:
            await hook(app_pk, after.class_name, _wire(before) if before else None, _wire(after))
        except Exception:  # an extension point: its failure is its own, the save stands
            log.exception("a fields-added hook failed for %s of app %s", after.class_name, app_pk)


async def _ensure_once(
    app_pk: int, class_name: str, wanted: dict[str, dict[str, Any]], create_class: bool
) -> tuple[ClassSchema | None, bool, ClassSchema | None]:
    """One attempt: the class as it is now, whether this attempt changed it, and the class before (None: new)."""
    async with app_transaction(app_pk) as conn:
        cursor = await conn.execute(
            "SELECT fields, class_level_permissions, indexes FROM datastore_schemaclass "
            "WHERE app_id = %s AND class_name = %s FOR UPDATE",
            [app_pk, class_name],
        )
        row = await cursor.fetchone()
        if row is None:
            if not create_class:
                raise ParseError(
                    OPERATION_FORBIDDEN, f"This user is not allowed to access non-existent class: {class_name}"
                )
            fields = {**copy.deepcopy(DEFAULT_FIELDS), **wanted}
            field_count_check(class_name, len(DEFAULT_FIELDS), len(fields))
            clp = default_class_level_permissions()
            inserted = await conn.execute(
                "INSERT INTO datastore_schemaclass (app_id, class_name, fields, class_level_permissions, indexes, "
                "created_at, updated_at) VALUES (%s, %s, %s, %s, '{}', now(), now()) "
                "ON CONFLICT DO NOTHING RETURNING 1",
                [app_pk, class_name, Jsonb(fields), Jsonb(clp)],
            )
            if await inserted.fetchone() is None:
                return None, False, None
            return ClassSchema(class_name, fields, clp, {}), True, None
        fields, clp, indexes = row
        additions = _merge_fields(class_name, fields, wanted)
        if not additions:
            return ClassSchema(class_name, fields, clp, indexes), False, None
        field_count_check(class_name, len(fields), len(fields) + len(additions))
        await conn.execute(
            "UPDATE datastore_schemaclass SET fields = fields || %s, updated_at = now() "
            "WHERE app_id = %s AND class_name = %s",
            [Jsonb(additions), app_pk, class_name],
        )
        before = ClassSchema(class_name, fields, clp, indexes)
        return ClassSchema(class_name, {**fields, **additions}, clp, indexes), True, before


def schema_changed_channel(app_pk: int) -> str:
    """Pub/sub channel told of every schema change, for holders of long-lived connections (LiveQuery)."""
    return f"hangar:schema-changed:{app_pk}"


async def schema_changed(app_pk: int) -> None:
    """After a committed schema change: bump the version so every process reloads."""
    async with get_redis().pipeline(transaction=False) as pipe:
        pipe.incr(schema_version_key(app_pk))
        pipe.publish(schema_changed_channel(app_pk), b"1")
        await pipe.execute()
    app_schemas_forget(app_pk)


def schema_to_wire(schema: ClassSchema) -> dict[str, Any]:
    """The ``/schemas`` representation of a class."""
    return orjson.loads(
        orjson.dumps(
            {
                "className": schema.class_name,
                "fields": schema.fields,
                "classLevelPermissions": schema.clp,
                "indexes": schema.indexes or {"_id_": {"_id": 1}},
            }
        )
    )
