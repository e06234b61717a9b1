"""Indexes for paging a class by ``createdAt`` or ``updatedAt`` (the dashboard's data grid, any ``order`` query).

The grid pages by keyset: "rows before (createdAt, objectId) of the last row shown", with
a ``createdAt <= value`` bound the planner can start an index range scan from, so a page
deep into a class of a million objects reads one page of index entries, not the class.
objectId is ordered ``COLLATE "C"`` (hangar.datastore.query.order), which the primary key's
default collation cannot serve: the third index does, for the grid and for SDKs that page
with ``objectId > last``. Created on the partitioned parent: every app partition gets them, new ones on ATTACH.
"""

from django.db import migrations

FORWARD = """
CREATE INDEX datastore_object_class_created
    ON datastore_object (app_id, class_name, created_at, object_id COLLATE "C");
CREATE INDEX datastore_object_class_updated
    ON datastore_object (app_id, class_name, updated_at, object_id COLLATE "C");
CREATE INDEX datastore_object_class_object_c ON datastore_object (app_id, class_name, object_id COLLATE "C");
"""

BACKWARD = """
DROP INDEX IF EXISTS datastore_object_class_created;
DROP INDEX IF EXISTS datastore_object_class_updated;
DROP INDEX IF EXISTS datastore_object_class_object_c;
"""


class Migration(migrations.Migration):
    dependencies = [("datastore", "0013_push_system_classes")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
