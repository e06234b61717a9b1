"""Per-app partitions of the data tables: created at provisioning, dropped at deletion.

A partition is created as a plain table and then attached: ATTACH PARTITION takes a
SHARE UPDATE EXCLUSIVE lock on the parent, so provisioning a new app never blocks
reads and writes of the apps already running (CREATE TABLE ... PARTITION OF would).

Most of that cost is building the partition's indexes (about 20, each synced to disk on
PostgreSQL 15 and 16), which no statement can batch away. So partitions are also made
ahead, for app ids reserved from the apps' sequence (``SparePartition``), and app creation
claims a spare when there is one: provisioning is then a few inserts whatever the number of
apps (docs/scaling.md, "Density").
"""

from __future__ import annotations

from django.db import connection

from hangar.datastore.models import SparePartition

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


def partitions_exist(*, app_pk: int) -> bool:
    """Whether both of the app's partitions exist (a spare claimed is checked before use)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(to_regclass(name)) = %s FROM unnest(%s::text[]) AS name",
            [len(PARTITIONED_TABLES), [partition_name(table, app_pk) for table in PARTITIONED_TABLES]],
        )
        row = cursor.fetchone()
    return bool(row and row[0])


def spare_partitions_add(*, app_pk: int) -> None:
    """Make the partitions of a reserved app id and offer them to the next app created."""
    partitions_create(app_pk=app_pk)
    SparePartition.objects.create(app_pk=app_pk)


def spare_partitions_claim() -> tuple[int, int] | None:
    """Take a spare: its app id and how many spares are left; None if the pool is empty.

    Rolled back with the caller's transaction (the spare is then offered again)."""
    with connection.cursor() as cursor:
        # SKIP LOCKED: apps created at the same time each take a different spare, none waits.
        # The count is the snapshot's, taken before this deletion.
        cursor.execute(
            "DELETE FROM datastore_sparepartition WHERE app_pk = (SELECT app_pk FROM datastore_sparepartition "
            "ORDER BY app_pk LIMIT 1 FOR UPDATE SKIP LOCKED) "
            "RETURNING app_pk, (SELECT count(*) - 1 FROM datastore_sparepartition)"
        )
        row = cursor.fetchone()
    return (int(row[0]), int(row[1])) if row else None


def spare_partitions_count() -> int:
    return SparePartition.objects.count()
