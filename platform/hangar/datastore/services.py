"""Writes of the data store's control side: provisioning and removing an app's storage."""

from __future__ import annotations

from hangar.datastore.models import SchemaClass
from hangar.datastore.partitions import partitions_create, partitions_drop
from hangar.datastore.system_classes import (
    SYSTEM_CLASS_FIELDS,
    system_class_permissions,
    system_class_schema,
)


def app_storage_provision(*, app_pk: int) -> None:
    """Create an app's partitions and its system classes; call inside the app-creation transaction."""
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


def app_storage_remove(*, app_pk: int) -> None:
    """Drop an app's partitions (all its objects and relations) and its schema rows."""
    partitions_drop(app_pk=app_pk)
    SchemaClass.objects.filter(app_id=app_pk).delete()
