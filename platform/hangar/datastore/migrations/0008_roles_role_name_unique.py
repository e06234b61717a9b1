"""Unique ``_Role.name`` per app (reference §10.7): a role name is what ACLs grant, so it names one role.

Like migration 0007, the partial unique index is created on the partitioned parent, so
every existing app partition gets it now and every new one when provisioning attaches it
(ATTACH PARTITION builds the parent's missing indexes). The write path relies on it to
refuse a duplicate name (137), race-safe, without a lookup of its own.

Apps may already hold several roles of one name, and building the index would fail on
them. Before building it, the oldest role of each name (by createdAt, then objectId)
keeps the name; every later one is renamed ``<name>_duplicate_<objectId>`` (a valid,
distinct name that still shows the original), so it no longer grants the contested name
while its members, child roles and ACL stay as they were. Nothing is deleted.
"""

from django.db import migrations

# The byte cap keeps every indexed name within a btree entry (2704 bytes), so building the
# index cannot fail on an old oversized name; new names are refused above it by the write
# path (hangar.identity.role_rules.ROLE_NAME_MAX_LENGTH, the same 1024).
INDEX_SQL = """
CREATE UNIQUE INDEX datastore_object_role_name ON datastore_object (app_id, (data->>'name'))
    WHERE class_name = '_Role' AND octet_length(data->>'name') <= 1024;
"""
DROP_INDEX_SQL = "DROP INDEX IF EXISTS datastore_object_role_name;"

_LATER_DUPLICATES_SQL = """
SELECT app_id, object_id, data->>'name' FROM (
    SELECT app_id, object_id, data,
           row_number() OVER (PARTITION BY app_id, data->>'name' ORDER BY created_at, object_id) AS rank
    FROM datastore_object WHERE class_name = '_Role' AND data->>'name' IS NOT NULL
) ranked WHERE rank > 1 ORDER BY app_id, object_id
"""


def _free_name(cursor, app_id: int, wanted: str) -> str:
    """``wanted``, or with a counter appended if some role of the app already has it."""
    candidate, counter = wanted, 1
    while True:
        cursor.execute(
            "SELECT 1 FROM datastore_object WHERE app_id = %s AND class_name = '_Role' AND data->>'name' = %s",
            [app_id, candidate],
        )
        if cursor.fetchone() is None:
            return candidate
        counter += 1
        candidate = f"{wanted}_{counter}"


def rename_later_duplicates(apps, schema_editor) -> None:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(_LATER_DUPLICATES_SQL)
        for app_id, object_id, name in cursor.fetchall():
            new_name = _free_name(cursor, app_id, f"{name}_duplicate_{object_id}")
            cursor.execute(
                "UPDATE datastore_object SET data = jsonb_set(data, '{name}', to_jsonb(%s::text)), updated_at = now() "
                "WHERE app_id = %s AND class_name = '_Role' AND object_id = %s",
                [new_name, app_id, object_id],
            )


class Migration(migrations.Migration):
    dependencies = [("datastore", "0007_user_unique_indexes")]
    operations = [
        migrations.RunPython(rename_later_duplicates, migrations.RunPython.noop),
        migrations.RunSQL(INDEX_SQL, DROP_INDEX_SQL),
    ]
