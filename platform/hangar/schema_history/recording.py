"""Recording the changes made through Parse's ``/schemas`` with the master key (Parse Dashboard, scripts).

The gateway applies them through the datastore as always, then hands the class as it was
and as it is now to ``parse_schema_change_record``, which stores the operations and their
reverse as a migration, so the history is complete and such a change can be rolled back
like a pushed one. It runs on the data plane (async, the data-plane pool): the migrations
table is granted to the data-plane role under row-level security (migration 0002).
"""

from __future__ import annotations

from typing import Any

from psycopg.types.json import Jsonb

from hangar.datastore.connection import app_transaction
from hangar.schema_history.document import ClassSpec, class_spec_from_stored
from hangar.schema_history.planning import class_operations, reverse_plan

# The first key of the two-key advisory lock on an app's schema history ("HSCH"); a push holds it
# for its whole run, a recorded /schemas change for its INSERT.
LOCK_NAMESPACE = 0x48534348
# A /schemas change waits at most this long for a push of the same app to finish before it is
# recorded; past it the change stays applied and the failure is logged.
_LOCK_TIMEOUT = "5s"

_INSERT_SQL = """
INSERT INTO schema_history_schemamigration
    (app_id, number, source, author_email, message, operations, reverse, irreversible, promoted_from,
     rolled_back, created_at)
SELECT %(app)s, COALESCE(MAX(number), 0) + 1, 'parse_api', '', %(message)s, %(operations)s, %(reverse)s,
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


async def parse_schema_change_record(
    *, app_pk: int, class_name: str, before: dict[str, Any] | None, after: dict[str, Any] | None
) -> int | None:
    """Record one committed /schemas change as a migration; returns its number (None: nothing changed)."""
    operations = schema_wire_operations(class_name, before, after)
    if not operations:
        return None
    reverse, irreversible = reverse_plan(operations)
    params = {
        "app": app_pk, "message": f"/schemas change of {class_name}", "operations": Jsonb(operations),
        "reverse": Jsonb(reverse), "irreversible": Jsonb(irreversible),
    }  # fmt: skip
    async with app_transaction(app_pk) as conn:
        await conn.run(f"SET LOCAL lock_timeout = '{_LOCK_TIMEOUT}'")
        await conn.run("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, app_pk])
        row = await conn.fetch_one(_INSERT_SQL, params)
    return int(row[0]) if row else None
