"""Per-app partitions of the data tables: created at provisioning, dropped at deletion.

A partition is created as a plain table and then attached: ATTACH PARTITION takes a
SHARE UPDATE EXCLUSIVE lock on the parent, so provisioning a new app never blocks
reads and writes of the apps already running (CREATE TABLE ... PARTITION OF would).
"""

from __future__ import annotations

from django.db import connection

PARTITIONED_TABLES = ("datastore_object", "datastore_relation")
DATA_PLANE_ROLE = "hangar_dataplane"  # works on partitions directly (see object_partition)


def partition_name(table: str, app_pk: int) -> str:
    return f"{table}_app{int(app_pk)}"


def object_partition(app_pk: int) -> str:
    """The app's own objects table. Data-plane statements name it directly: it can only hold that
    app's rows (its partition constraint rejects any other app id), and unlike the parent it is
    not behind row-level security, whose leakproof rule would keep expression indexes from
    serving ``where`` conditions."""
    return partition_name("datastore_object", app_pk)


def relation_partition(app_pk: int) -> str:
    return partition_name("datastore_relation", app_pk)


def partitions_create(*, app_pk: int) -> None:
    app_pk = int(app_pk)  # interpolated into DDL below: never anything but an integer
    with connection.cursor() as cursor:
        for table in PARTITIONED_TABLES:
            name = partition_name(table, app_pk)
            cursor.execute(f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
            cursor.execute(f"ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES IN ({app_pk})")
            cursor.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {name} TO {DATA_PLANE_ROLE}")


def partitions_drop(*, app_pk: int) -> None:
    app_pk = int(app_pk)
    with connection.cursor() as cursor:
        for table in PARTITIONED_TABLES:
            cursor.execute(f"DROP TABLE IF EXISTS {partition_name(table, app_pk)}")


def partitions_list(*, app_pk: int) -> list[str]:
    """Names of the partitions that exist for an app (used by checks and tests)."""
    names = [partition_name(table, app_pk) for table in PARTITIONED_TABLES]
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname FROM pg_class WHERE relname = ANY(%s) ORDER BY relname", [names])
        return [row[0] for row in cursor.fetchall()]
