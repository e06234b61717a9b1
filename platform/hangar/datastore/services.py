"""Writes of the data store's control side: provisioning and removing an app's storage."""

from __future__ import annotations

from hangar.datastore.models import SchemaClass
from hangar.datastore.partitions import (
    partitions_create,
    partitions_drop,
    partitions_exist,
    spare_partitions_add,
    spare_partitions_claim,
    spare_partitions_count,
)
from hangar.datastore.system_classes import (
    SYSTEM_CLASS_FIELDS,
    system_class_permissions,
    system_class_schema,
)


def app_storage_provision(*, app_pk: int, partitions_ready: bool = False) -> None:
    """Create an app's partitions (unless a claimed spare made them) and its system classes;
    call inside the app-creation transaction."""
    if not partitions_ready:
        partitions_create(app_pk=app_pk)
    elif not partitions_exist(app_pk=app_pk):
        partitions_drop(app_pk=app_pk)  # a spare half gone (dropped by hand): made again whole
        partitions_create(app_pk=app_pk)
    SchemaClass.objects.bulk_create(
        SchemaClass(
            app_id=app_pk,
            class_name=class_name,
            fields=system_class_schema(class_name),
            class_level_permissions=system_class_permissions(class_name),
        )
        for class_name in SYSTEM_CLASS_FIELDS
    )


def app_storage_spare_claim() -> tuple[int, int] | None:
    """The app id of a spare whose partitions are made and how many spares are left (None: none);
    call in the app-creation transaction."""
    return spare_partitions_claim()


def app_storage_spares_count() -> int:
    return spare_partitions_count()


def app_storage_spare_add(*, app_pk: int) -> None:
    """Make partitions ahead for a reserved app id, for ``app_storage_spare_claim``."""
    spare_partitions_add(app_pk=app_pk)


def app_storage_remove(*, app_pk: int) -> None:
    """Drop an app's partitions (all its objects and relations) and its schema rows."""
    partitions_drop(app_pk=app_pk)
    SchemaClass.objects.filter(app_id=app_pk).delete()
