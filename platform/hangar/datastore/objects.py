"""Object writes and single-object reads of the Parse data API (reference §7.1-7.4).

Every statement runs in an ``app_transaction`` (row-level security bound to the app),
filters on ``app_id`` itself, applies the ACL in its WHERE clause (a row the caller may
not see or change behaves as if it did not exist: 101) and publishes the committed
change for LiveQuery.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from psycopg.errors import UniqueViolation
from psycopg.types.json import Jsonb

from hangar.caller import Caller
from hangar.datastore.acl import acl_principals
from hangar.datastore.acl_sql import acl_read_condition, acl_write_condition
from hangar.datastore.change_feed import publish_change
from hangar.datastore.changes import Change, Changes, parse_changes
from hangar.datastore.class_access import class_for_read, class_for_write
from hangar.datastore.class_rules import PreparedWrite, class_rules, unique_violation_error
from hangar.datastore.connection import after_commit, app_read, app_statement, app_transaction
from hangar.datastore.dates import WIRE_DATE_COLUMNS, format_date
from hangar.datastore.hooks import hooks
from hangar.datastore.partitions import object_partition, relation_partition
from hangar.datastore.permissions import clp_check, pointer_permission_condition, protected_fields_for
from hangar.datastore.relations import relation_changes_apply
from hangar.datastore.save_triggers import before_save_body
from hangar.datastore.schema_registry import ClassSchema
from hangar.datastore.update_sql import apply_to_new_object, changes_applied, data_update_sql
from hangar.datastore.wire import row_to_wire
from hangar.parse_errors import OBJECT_NOT_FOUND, VALIDATION_ERROR, ParseError

_ID_ALPHABET = string.ascii_letters + string.digits


# Random bytes become id characters by table lookup: the 248 byte values below 4 x 62 map
# evenly onto the alphabet, the other 8 are dropped, so every character stays uniform.
_ID_TABLE = b"".join(_ID_ALPHABET[b % len(_ID_ALPHABET)].encode() if b < 248 else b"?" for b in range(256))
_ID_REJECTED = bytes(range(248, 256))


def new_object_id() -> str:
    while True:
        chars = secrets.token_bytes(16).translate(_ID_TABLE, _ID_REJECTED)
        if len(chars) >= 10:  # all but never: 16 bytes lose 6 only with odds below 1e-8
            return chars[:10].decode()


def now_ms() -> datetime:
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _not_found(message: str = "Object not found.") -> ParseError:
    return ParseError(OBJECT_NOT_FOUND, message)


def _apply_schema_defaults(schema: ClassSchema, data: dict[str, Any], echoed: set[str]) -> None:
    for name, spec in schema.write_defaults:
        if name in data:
            continue
        if "defaultValue" in spec:
            data[name] = spec["defaultValue"]
            echoed.add(name)
        elif spec.get("required"):
            raise ParseError(VALIDATION_ERROR, f"{name} is required")


async def _prepare_write(
    caller: Caller, class_name: str, body: dict[str, Any], object_id: str, *, is_create: bool
) -> PreparedWrite | None:
    """The class's own rules (hangar.datastore.class_rules), whichever route wrote the object."""
    rules = class_rules(class_name)
    if is_create:
        return await rules.before_create(caller=caller, body=body, object_id=object_id)
    return await rules.before_update(caller=caller, object_id=object_id, body=body)


async def object_create(
    *, caller: Caller, class_name: str, body: dict[str, Any], files_base: str, object_id: str | None = None
) -> tuple[dict[str, Any], str]:
    """Create an object; returns the response body (§7.1) and the new objectId.

    ``object_id`` is for server-side callers that must be able to create the same object
    twice without making two (the dashboard's import resumes a job with the ids it would
    have used): a second create with it fails with the duplicate error (137).
    """
    body, existing_id = await class_rules(class_name).resolve_create(caller=caller, body=body)
    if existing_id is not None:  # e.g. Parse Server keeps one installation per installationId
        response = await object_update(
            caller=caller, class_name=class_name, object_id=existing_id, body=body, files_base=files_base
        )
        return {"objectId": existing_id, **response}, existing_id
    object_id, stamp = object_id or new_object_id(), now_ms()
    prepared = await _prepare_write(caller, class_name, body, object_id, is_create=True)
    if prepared is not None:
        body = prepared.body
    changes = parse_changes(body, is_create=True)
    schema, _ = await class_for_write(caller, class_name, "create", changes.inferred)
    data, echoed = apply_to_new_object(changes.fields)
    _apply_schema_defaults(schema, data, echoed)
    if hooks().wants(caller=caller, kind="beforeSave", class_name=class_name):
        shown = {**data, "ACL": changes.acl} if changes.acl is not None else dict(data)
        body, by_trigger = await before_save_body(
            caller=caller, class_name=class_name, body=body, shown=shown, original=None
        )
        if by_trigger:  # the trigger's values are checked exactly like the client's
            changes = parse_changes(body, is_create=True)
            schema, _ = await class_for_write(caller, class_name, "create", changes.inferred)
            data, echoed = apply_to_new_object(changes.fields)
            _apply_schema_defaults(schema, data, echoed)
            echoed |= by_trigger - {"ACL"}
    if prepared is not None:
        # Added after the hook: internal fields (hashes, tokens) are never shown to a trigger.
        data.update(prepared.internal)
    if changes.acl is not None:
        data["ACL"] = changes.acl
    readers, writers = acl_principals(changes.acl)
    unit = app_transaction if changes.relations else app_statement
    try:
        async with unit(caller.app_pk) as conn:
            await conn.run(
                f"INSERT INTO {object_partition(caller.app_pk)} "
                "(app_id, class_name, object_id, data, _rperm, _wperm, created_at, updated_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                [caller.app_pk, class_name, object_id, Jsonb(data), readers, writers, stamp, stamp],
            )
            await relation_changes_apply(conn, caller.app_pk, class_name, object_id, changes.relations)
    except UniqueViolation as exc:
        raise unique_violation_error(class_name, exc) from exc
    obj = row_to_wire(schema, object_id=object_id, data=data, created_at=stamp, updated_at=stamp, files_base=files_base)

    async def committed() -> None:
        await publish_change(
            app_pk=caller.app_pk,
            live_classes=caller.live_classes,
            class_name=class_name,
            operation="create",
            before=None,
            after=obj,
            readers_after=readers,
        )
        await class_rules(class_name).changed(caller.app_pk)
        await hooks().after_save(caller=caller, class_name=class_name, obj=obj, original=None)

    await after_commit(committed)
    response = {name: data[name] for name in echoed if name in data}
    response.update({"objectId": object_id, "createdAt": format_date(stamp)})
    if prepared is not None:
        response.update(await class_rules(class_name).after_create(caller=caller, object_id=object_id, write=prepared))
    return response, object_id


def _write_filter(caller: Caller, schema: ClassSchema, pointer_fields: list[str], params: list[Any]) -> str:
    """`` AND ...`` conditions that leave out rows the caller may not change (ACL, pointer permissions)."""
    return _row_filter(caller, schema, pointer_fields, params, acl_write_condition)


def _acl_data_change(changes: Changes) -> Change:
    """Keep the readable ACL object in ``data`` in step with ``_rperm``/``_wperm``."""
    if changes.acl is None:
        return Change(("ACL",), "delete")
    return Change(("ACL",), "set", changes.acl)


def _echoed_fields(changes: Changes) -> set[str]:
    return {c.path[0] for c in changes.fields if c.kind in {"increment", "add", "add_unique", "remove"}}


async def _update_statement(
    caller: Caller, class_name: str, object_id: str, body: dict[str, Any], prepared: PreparedWrite | None
) -> tuple[Changes, ClassSchema, str, list[Any], datetime]:
    """Parse and check the body (as the caller), and build the one UPDATE that applies it."""
    changes = parse_changes(body, is_create=False)
    schema, pointer_fields = await class_for_write(caller, class_name, "update", changes.inferred)
    field_changes = list(changes.fields)
    if prepared is not None:
        field_changes += [
            Change((name,), "delete" if value is None else "set", value) for name, value in prepared.internal.items()
        ]
    if changes.acl_given:
        field_changes.append(_acl_data_change(changes))
    stamp = now_ms()
    params: list[Any] = [caller.app_pk, class_name, object_id]
    where_extra = _write_filter(caller, schema, pointer_fields, params)
    if not caller.is_master:
        where_extra += class_rules(class_name).client_update_condition(caller=caller, body=body, params=params)
    data_sql = data_update_sql(field_changes, params)
    params.append(stamp)
    acl_sql = ""
    if changes.acl_given:
        readers, writers = acl_principals(changes.acl)
        params.extend([readers, writers])
        acl_sql = ", _rperm = %s, _wperm = %s"
    params.extend([caller.app_pk, class_name])
    table = object_partition(caller.app_pk)
    sql = (
        "WITH old AS (SELECT object_id AS old_id, data AS old_data, _rperm AS old_rperm, updated_at AS old_updated "
        f"FROM {table} WHERE app_id = %s AND class_name = %s AND object_id = %s{where_extra} FOR UPDATE) "
        f"UPDATE {table} SET data = {data_sql}, updated_at = %s{acl_sql} "
        "FROM old WHERE app_id = %s AND class_name = %s AND object_id = old.old_id "
        "RETURNING old.old_data, old.old_rperm, old.old_updated, data, _rperm, created_at"
    )
    return changes, schema, sql, params, stamp


async def _stored_for_trigger(
    conn: Any, caller: Caller, class_name: str, object_id: str, files_base: str, changes: Sequence[Change] = ()
) -> dict[str, Any]:
    """The row as the caller may change it, locked until the write's transaction ends."""
    schema, pointer_fields = await class_for_write(caller, class_name, "update", {})
    params: list[Any] = [caller.app_pk, class_name, object_id]
    where_extra = _write_filter(caller, schema, pointer_fields, params)
    row = await conn.fetch_one(
        f"SELECT data, created_at, updated_at FROM {object_partition(caller.app_pk)} "
        f"WHERE app_id = %s AND class_name = %s AND object_id = %s{where_extra} FOR UPDATE",
        params,
    )
    if row is None:
        raise _not_found()
    data, created_at, updated_at = row
    stamps = {"object_id": object_id, "created_at": created_at, "updated_at": updated_at, "files_base": files_base}
    return {
        "wire": row_to_wire(schema, data=data, **stamps),
        "merged": row_to_wire(schema, data=changes_applied(data, list(changes))[0], **stamps),
    }


async def object_update(
    *, caller: Caller, class_name: str, object_id: str, body: dict[str, Any], files_base: str
) -> dict[str, Any]:
    """Update an object; returns ``{updatedAt}`` plus the results of array/number operations (§6)."""
    prepared = await _prepare_write(caller, class_name, body, object_id, is_create=False)
    if prepared is not None:
        body = prepared.body
    changes, schema, sql, params, stamp = await _update_statement(caller, class_name, object_id, body, prepared)
    triggered = hooks().wants(caller=caller, kind="beforeSave", class_name=class_name)
    by_trigger: set[str] = set()
    unit = app_transaction if changes.relations or triggered else app_statement
    try:
        async with unit(caller.app_pk) as conn:
            if triggered:
                stored = await _stored_for_trigger(conn, caller, class_name, object_id, files_base, changes.fields)
                shown = stored["merged"]
                if changes.acl_given:
                    shown["ACL"] = changes.acl
                body, by_trigger = await before_save_body(
                    caller=caller, class_name=class_name, body=body, shown=shown, original=stored["wire"]
                )
                if by_trigger:  # the trigger's values are checked exactly like the client's
                    changes, schema, sql, params, stamp = await _update_statement(
                        caller, class_name, object_id, body, prepared
                    )
            row = await conn.fetch_one(sql, params)
            if row is None:
                raise _not_found()
            await relation_changes_apply(conn, caller.app_pk, class_name, object_id, changes.relations)
    except UniqueViolation as exc:
        raise unique_violation_error(class_name, exc) from exc
    old_data, old_readers, old_updated, new_data, new_readers, created_at = row
    before = row_to_wire(
        schema, object_id=object_id, data=old_data, created_at=created_at, updated_at=old_updated, files_base=files_base
    )
    after = row_to_wire(
        schema, object_id=object_id, data=new_data, created_at=created_at, updated_at=stamp, files_base=files_base
    )

    await after_commit(lambda: update_committed(caller, class_name, before, after, old_readers, new_readers))
    echoed = _echoed_fields(changes) | (by_trigger - {"ACL"})
    response = {name: new_data[name] for name in echoed if name in new_data}
    response["updatedAt"] = format_date(stamp)
    if prepared is not None:
        response.update(await class_rules(class_name).after_update(caller=caller, object_id=object_id, write=prepared))
    return response


async def update_committed(
    caller: Caller, class_name: str, before: dict[str, Any], after: dict[str, Any],
    readers_before: list[str], readers_after: list[str], *, publish: bool = True,
) -> None:  # fmt: skip
    """After an update has committed: the change feed (unless told not to), the class's caches, afterSave."""
    if publish:
        await publish_change(
            app_pk=caller.app_pk, live_classes=caller.live_classes, class_name=class_name, operation="update",
            before=before, after=after, readers_before=readers_before, readers_after=readers_after,
        )  # fmt: skip
    await class_rules(class_name).changed(caller.app_pk)
    await hooks().after_save(caller=caller, class_name=class_name, obj=after, original=before)


async def object_delete(*, caller: Caller, class_name: str, object_id: str, files_base: str) -> None:
    rules = class_rules(class_name)
    rules.before_delete(caller=caller, object_id=object_id)
    schema, pointer_fields = await class_for_write(caller, class_name, "delete", {})
    if hooks().wants(caller=caller, kind="beforeDelete", class_name=class_name):
        # Parse shows beforeDelete the whole stored object; a row the caller may not change is a 101 first.
        stored = await app_read(
            caller.app_pk, lambda conn: _stored_for_trigger(conn, caller, class_name, object_id, files_base)
        )
        await hooks().before_delete(caller=caller, class_name=class_name, object_id=object_id, obj=stored["wire"])
    params: list[Any] = [caller.app_pk, class_name, object_id]
    where_extra = _write_filter(caller, schema, pointer_fields, params)
    # One statement: the object and its own relations go together (relations pointing at it
    # stay, as in Parse Server).
    async with app_statement(caller.app_pk) as conn:
        row = await conn.fetch_one(
            f"WITH gone AS (DELETE FROM {object_partition(caller.app_pk)} "
            f"WHERE app_id = %s AND class_name = %s AND object_id = %s{where_extra} "
            "RETURNING object_id, data, _rperm, created_at, updated_at), "
            f"owned AS (DELETE FROM {relation_partition(caller.app_pk)} r USING gone "
            "WHERE r.app_id = %s AND r.owner_class = %s AND r.owner_id = gone.object_id) "
            "SELECT data, _rperm, created_at, updated_at FROM gone",
            [*params, caller.app_pk, class_name],
        )
        if row is None:
            raise _not_found()
    data, readers, created_at, updated_at = row
    obj = row_to_wire(
        schema, object_id=object_id, data=data, created_at=created_at, updated_at=updated_at, files_base=files_base
    )

    async def committed() -> None:
        await publish_change(
            app_pk=caller.app_pk, live_classes=caller.live_classes, class_name=class_name, operation="delete",
            before=obj, after=None, readers_before=readers,
        )  # fmt: skip
        await class_rules(class_name).changed(caller.app_pk)
        await rules.after_delete(caller=caller, object_id=object_id)
        await hooks().after_delete(caller=caller, class_name=class_name, obj=obj)

    await after_commit(committed)


def read_filter(caller: Caller, schema: ClassSchema, pointer_fields: list[str], params: list[Any]) -> str:
    """`` AND ...`` conditions that hide rows the caller may not read (ACL, pointer permissions)."""
    return _row_filter(caller, schema, pointer_fields, params, acl_read_condition)


def _row_filter(
    caller: Caller, schema: ClassSchema, pointer_fields: list[str], params: list[Any],
    acl_condition: Callable[[tuple[str, ...]], tuple[str, list[Any]]],
) -> str:  # fmt: skip
    parts = []
    principals = caller.acl_principals
    if principals is not None:
        sql, acl_params = acl_condition(principals)
        parts.append(sql)
        params.extend(acl_params)
    if pointer_fields:
        sql, pointer_params = pointer_permission_condition(pointer_fields, caller, schema)
        parts.append(sql)
        params.extend(pointer_params)
    return "".join(f" AND {part}" for part in parts)


async def object_get_raw(caller: Caller, class_name: str, object_id: str) -> tuple[ClassSchema, tuple[Any, ...]]:
    """The stored row the caller may read (CLP get, ACL, pointer permissions), else 101."""
    schema = await class_for_read(caller, class_name)
    if schema is None:
        raise _not_found()
    pointer_fields = clp_check(schema, "get", caller)
    params: list[Any] = [caller.app_pk, class_name, object_id]
    where_extra = read_filter(caller, schema, pointer_fields, params)
    sql = (
        f"SELECT data, {WIRE_DATE_COLUMNS} FROM {object_partition(caller.app_pk)} "
        f"WHERE app_id = %s AND class_name = %s AND object_id = %s{where_extra}"
    )
    row = await app_read(caller.app_pk, lambda conn: conn.fetch_one(sql, params))
    if row is None:
        raise _not_found()
    return schema, row


def wire_encoder(
    schema: ClassSchema, caller: Caller, files_base: str
) -> Callable[[str, tuple[Any, ...]], dict[str, Any]]:
    """Encode rows (data, created_at, updated_at) for this caller; the per-class work is done once."""
    hidden = protected_fields_for(schema, caller)
    rules = class_rules(schema.class_name)
    if not hidden and schema.stored_as_wire and not rules.stores_internal_fields:
        # The common case, with nothing to hide or rewrite: one dict built in C per row.
        def encode_stored(object_id: str, row: tuple[Any, ...]) -> dict[str, Any]:
            data, created_at, updated_at = row
            return {
                "objectId": object_id, "createdAt": format_date(created_at), "updatedAt": format_date(updated_at),
                **data,
            }  # fmt: skip

        return encode_stored
    relations = schema.relation_fields()
    owner_only = rules.owner_only_fields
    others_hidden = hidden | owner_only if owner_only and not caller.is_master else hidden

    def encode(object_id: str, row: tuple[Any, ...]) -> dict[str, Any]:
        data, created_at, updated_at = row
        seen_hidden = (set() if caller.user_id == object_id else others_hidden) if owner_only else hidden
        return row_to_wire(
            schema, object_id=object_id, data=data, created_at=created_at, updated_at=updated_at,
            files_base=files_base, hidden=seen_hidden, relations=relations,
        )  # fmt: skip

    return encode


def wire_for_caller(
    schema: ClassSchema, caller: Caller, object_id: str, row: tuple[Any, ...], files_base: str
) -> dict[str, Any]:
    return wire_encoder(schema, caller, files_base)(object_id, row)
