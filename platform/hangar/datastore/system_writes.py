"""Writes a class's owner makes on its own authority: the same change feed and hooks as ``objects``, no CLP or ACL.

Identity logs users in, out, locks accounts, verifies emails and resets passwords by
writing ``_User`` and ``_Session`` rows it has already authorized itself (a proven
password, a mailed token). Those writes skip the client-facing checks of
hangar.datastore.objects, but nothing else: each one calls the trigger hooks
(hangar.datastore.hooks), tells the class's rules what changed
(``class_rules(...).changed``), and publishes the committed change for LiveQuery
(hangar.datastore.change_feed), so a listener or an ``afterSave`` on ``_User`` or
``_Session`` sees a login session, a logout or a password reset like any other write.

Every function runs its one statement on ``conn``, a unit of work the caller opened
(usually an ``app_transaction``, with more statements of the same flow); the events and
after-hooks are registered with ``after_commit``, so they run once that unit has
committed and never if it rolled back. Internal fields (``_``-prefixed keys of ``data``:
hashes, tokens, counters) are stored but never reach a hook or an event: objects are
encoded with ``row_to_wire``, which drops them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from hangar.caller import Caller
from hangar.datastore.change_feed import publish_change
from hangar.datastore.class_rules import class_rules
from hangar.datastore.connection import after_commit
from hangar.datastore.hooks import hooks
from hangar.datastore.objects import now_ms, update_committed
from hangar.datastore.partitions import object_partition, relation_partition
from hangar.datastore.wire import row_to_wire
from hangar.db_pool import DataPlaneConnection

# What a hook or an event is shown of an object: its wire form, so never an internal field.
Wire = dict[str, Any]


@dataclass(frozen=True)
class UpdatedRow:
    """The stored data of an updated object before and after the statement, internal fields included."""

    object_id: str
    before: dict[str, Any]
    after: dict[str, Any]


def _wire(object_id: str, data: dict[str, Any], created_at: datetime, updated_at: datetime, files_base: str) -> Wire:
    return row_to_wire(
        None, object_id=object_id, data=data, created_at=created_at, updated_at=updated_at, files_base=files_base
    )


async def system_object_insert(
    conn: DataPlaneConnection, *, caller: Caller, class_name: str, object_id: str, data: dict[str, Any],
    readers: list[str] | None, writers: list[str] | None, stamp: datetime, files_base: str = "",
) -> Wire:  # fmt: skip
    """Insert an object; returns its wire form (internal fields dropped) as hooks and listeners see it.

    ``before_save`` sees and may change the public fields only; the internal ones are added back after it.
    No cache needs dropping: a new object without relations is in none, so ``changed`` is not called.
    """
    internal = {key: value for key, value in data.items() if key.startswith("_")}
    public = {key: value for key, value in data.items() if not key.startswith("_")}
    public = await hooks().before_save(caller=caller, class_name=class_name, data=public, original=None)
    stored = {**{k: v for k, v in public.items() if not k.startswith("_")}, **internal}
    await conn.run(
        f"INSERT INTO {object_partition(caller.app_pk)} "
        "(app_id, class_name, object_id, data, _rperm, _wperm, created_at, updated_at) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        [caller.app_pk, class_name, object_id, Jsonb(stored), readers, writers, stamp, stamp],
    )
    obj = _wire(object_id, stored, stamp, stamp, files_base)

    async def committed() -> None:
        await publish_change(
            app_pk=caller.app_pk, live_classes=caller.live_classes, class_name=class_name, operation="create",
            before=None, after=obj, readers_after=readers,
        )  # fmt: skip
        await hooks().after_save(caller=caller, class_name=class_name, obj=obj, original=None)

    await after_commit(committed)
    return obj


async def system_object_update(
    conn: DataPlaneConnection, *, caller: Caller, class_name: str, object_id: str, data_sql: str,
    data_params: list[Any], condition: str = "", condition_params: list[Any] | None = None,
    touch: bool = True, files_base: str = "",
) -> UpdatedRow | None:  # fmt: skip
    """Set ``data = <data_sql>`` (an expression over the stored ``data``) on one object; None if none matched.

    ``condition`` (`` AND ...``) narrows which row may change (a token still being the user's).
    ``touch`` moves ``updatedAt``: a change a client can see does, one of internal fields alone
    (a lockout counter, a new token digest) does not, as in Parse Server, and is then not published.
    """
    table = object_partition(caller.app_pk)
    params: list[Any] = [caller.app_pk, class_name, object_id, *(condition_params or []), *data_params]
    stamp_sql = ""
    if touch:
        stamp_sql = ", updated_at = %s"
        params.append(now_ms())
    params.extend([caller.app_pk, class_name])
    row = await conn.fetch_one(
        "WITH old AS (SELECT object_id AS old_id, data AS old_data, _rperm AS old_rperm, updated_at AS old_updated "
        f"FROM {table} WHERE app_id = %s AND class_name = %s AND object_id = %s{condition} FOR UPDATE) "
        f"UPDATE {table} SET data = {data_sql}{stamp_sql} "
        "FROM old WHERE app_id = %s AND class_name = %s AND object_id = old.old_id "
        "RETURNING old.old_data, old.old_rperm, old.old_updated, data, _rperm, created_at, updated_at",
        params,
    )
    if row is None:
        return None
    old_data, old_readers, old_updated, new_data, new_readers, created_at, updated_at = row
    before = _wire(object_id, old_data, created_at, old_updated, files_base)
    after = _wire(object_id, new_data, created_at, updated_at, files_base)

    # A change of internal fields alone (a wrong password counted, a token digest stored) shows listeners
    # nothing: it is not published, as an event would only tell every reader of the object that a hidden
    # field moved. Hooks, server-side code, still see it.
    visible = before != after or old_readers != new_readers

    await after_commit(
        lambda: update_committed(caller, class_name, before, after, old_readers, new_readers, publish=visible)
    )
    return UpdatedRow(object_id=object_id, before=old_data, after=new_data)


async def system_objects_delete(
    conn: DataPlaneConnection, *, caller: Caller, class_name: str, condition: str, params: list[Any],
    files_base: str = "",
) -> list[str]:  # fmt: skip
    """Delete the objects of the class matching ``condition`` (SQL over ``data``), with their own relations.

    Returns the deleted ids. ``before_delete`` runs for each one inside the still-open unit, so a hook
    that refuses rolls the whole unit back; which objects go is only known once the statement has run.
    """
    row_params: list[Any] = [caller.app_pk, class_name, *params, caller.app_pk, class_name]
    rows = await conn.fetch_all(
        f"WITH gone AS (DELETE FROM {object_partition(caller.app_pk)} "
        f"WHERE app_id = %s AND class_name = %s AND {condition} "
        "RETURNING object_id, data, _rperm, created_at, updated_at), "
        f"owned AS (DELETE FROM {relation_partition(caller.app_pk)} r USING gone "
        "WHERE r.app_id = %s AND r.owner_class = %s AND r.owner_id = gone.object_id) "
        "SELECT object_id, data, _rperm, created_at, updated_at FROM gone",
        row_params,
    )
    if not rows:
        return []
    gone: list[tuple[Wire, list[str] | None]] = []
    for object_id, data, readers, created_at, updated_at in rows:
        await hooks().before_delete(caller=caller, class_name=class_name, object_id=object_id)
        gone.append((_wire(object_id, data, created_at, updated_at, files_base), readers))

    async def committed() -> None:
        for obj, readers in gone:
            await publish_change(
                app_pk=caller.app_pk, live_classes=caller.live_classes, class_name=class_name, operation="delete",
                before=obj, after=None, readers_before=readers,
            )  # fmt: skip
        await class_rules(class_name).changed(caller.app_pk)  # once for the statement, however many went
        for obj, _ in gone:
            await hooks().after_delete(caller=caller, class_name=class_name, obj=obj)

    await after_commit(committed)
    return [row[0] for row in rows]
