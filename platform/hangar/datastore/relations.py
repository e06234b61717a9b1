"""Relation membership rows (``datastore_relation``): AddRelation / RemoveRelation."""

from __future__ import annotations

from psycopg import AsyncConnection

from hangar.datastore.changes import RelationChange


async def relation_changes_apply(
    conn: AsyncConnection, app_pk: int, owner_class: str, owner_id: str, changes: list[RelationChange]
) -> None:
    for change in changes:
        if change.add:
            await conn.execute(
                "INSERT INTO datastore_relation (app_id, owner_class, owner_id, key, related_class, related_id) "
                "SELECT %s, %s, %s, %s, %s, unnest(%s::text[]) ON CONFLICT DO NOTHING",
                [app_pk, owner_class, owner_id, change.field, change.target_class, list(change.add)],
            )
        if change.remove:
            await conn.execute(
                "DELETE FROM datastore_relation WHERE app_id = %s AND owner_class = %s AND owner_id = %s "
                "AND key = %s AND related_id = ANY(%s::text[])",
                [app_pk, owner_class, owner_id, change.field, list(change.remove)],
            )
