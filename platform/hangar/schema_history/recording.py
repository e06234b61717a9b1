"""Recording schema changes made outside ``schema push``, so that the history is complete.

Three paths change a class without a push, each through the datastore's services:

* Parse's ``/schemas`` with the master key (Parse Dashboard, scripts): the gateway hands the
  class as it was and as it is now to ``schema_change_record`` (source ``parse_api``);
* Hangar's own dashboard (the data browser's class, column, CLP and index edits:
  tenants.data_browser), the same way (source ``dashboard``, with the developer's email);
* schema-on-write: a client save that creates a class or adds fields. The datastore calls
  its fields-added hooks after the commit (hangar.datastore.schema_registry); the one
  registered here (``schema_on_write_record``, by SchemaHistoryConfig.ready) records it
  (source ``schema_on_write``).

Each becomes a migration with its reverse, so ``schema diff`` and ``schema pull`` see it and
it can be rolled back like a pushed one. The record is written after the change commits, in
a transaction of its own: a record that could not be written is logged, the change stays.
It runs on the data plane (async, the data-plane pool): the migrations table is granted to
the data-plane role under row-level security (migration 0002). Migration numbers are taken
under a short advisory lock of their own (``NUMBER_LOCK_NAMESPACE``), which a push's record
takes too, so a change recorded while a push runs gets the next number without waiting for
the push.
"""

from __future__ import annotations

import logging
from typing import Any

from psycopg.types.json import Jsonb

from hangar.datastore.connection import app_transaction
from hangar.schema_history.document import ClassSpec, class_spec_from_stored
from hangar.schema_history.planning import class_operations, reverse_plan

log = logging.getLogger(__name__)

# The first key of the two-key advisory lock on an app's schema changes ("HSCH"): a push, a
# rollback or a restore holds it for its whole run.
LOCK_NAMESPACE = 0x48534348
# The first key of the lock held while a migration's number is taken and its row written ("HSNM").
NUMBER_LOCK_NAMESPACE = 0x48534E4D
# A record waits at most this long for another record's number; past it the change stays
# applied and the failure is logged.
_LOCK_TIMEOUT = "5s"

_INSERT_SQL = """
INSERT INTO schema_history_schemamigration
    (app_id, number, source, author_email, message, operations, reverse, irreversible, promoted_from,
     rolled_back, created_at)
SELECT %(app)s, COALESCE(MAX(number), 0) + 1, %(source)s, %(author)s, %(message)s, %(operations)s, %(reverse)s,
       %(irreversible)s, '', false, now()
FROM schema_history_schemamigration WHERE app_id = %(app)s
RETURNING number
"""


def _spec(class_name: str, wire: dict[str, Any] | None) -> ClassSpec | None:
    if wire is None:
        return None
    return class_spec_from_stored(
        class_name, wire.get("fields") or {}, wire.get("classLevelPermissions") or {}, wire.get("indexes") or {}
    )


def schema_wire_operations(
    class_name: str, before: dict[str, Any] | None, after: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """The operations between two ``/schemas`` representations of a class (None: the class did not exist)."""
    have, want = _spec(class_name, before), _spec(class_name, after)
    if have is None and want is None:
        return []
    if have is None:
        assert want is not None
        return [{"op": "addClass", "className": class_name, "fields": want.fields,
                 "classLevelPermissions": want.clp, "indexes": want.indexes}]  # fmt: skip
    if want is None:
        return [{"op": "dropClass", "className": class_name, "fields": have.fields,
                 "classLevelPermissions": have.clp, "indexes": have.indexes}]  # fmt: skip
    return class_operations(class_name, have, want)


async def schema_change_record(
    *, app_pk: int, class_name: str, before: dict[str, Any] | None, after: dict[str, Any] | None, source: str,
    author: str = "",
) -> int | None:  # fmt: skip
    """Record one committed change of a class as a migration; returns its number (None: nothing changed).

    ``before`` and ``after`` are the class's ``/schemas`` representations (None: it did not exist).
    """
    operations = schema_wire_operations(class_name, before, after)
    if not operations:
        return None
    reverse, irreversible = reverse_plan(operations)
    params = {
        "app": app_pk, "message": _MESSAGES.get(source, "change of {}").format(class_name)[:200],
        "operations": Jsonb(operations), "reverse": Jsonb(reverse), "irreversible": Jsonb(irreversible),
        "source": source, "author": author[:254],
    }  # fmt: skip
    async with app_transaction(app_pk) as conn:
        await conn.run(f"SET LOCAL lock_timeout = '{_LOCK_TIMEOUT}'")
        await conn.run("SELECT pg_advisory_xact_lock(%s, %s)", [NUMBER_LOCK_NAMESPACE, app_pk])
        row = await conn.fetch_one(_INSERT_SQL, params)
    return int(row[0]) if row else None


_MESSAGES = {
    "parse_api": "/schemas change of {}",
    "dashboard": "dashboard change of {}",
    "schema_on_write": "{} changed by a client's save (schema-on-write)",
}


async def schema_on_write_record(
    app_pk: int, class_name: str, before: dict[str, Any] | None, after: dict[str, Any]
) -> None:
    """The datastore's fields-added hook: record a class or fields a client's save created."""
    try:
        await schema_change_record(
            app_pk=app_pk, class_name=class_name, before=before, after=after, source="schema_on_write"
        )
    except Exception:
        log.exception("could not record the schema-on-write change of %s in app %s", class_name, app_pk)
