"""The partitioned data tables (DESIGN.md section 4). One partition per app is
attached at provisioning (hangar.datastore.partitions)."""

from django.db import migrations

CREATE = """
CREATE TABLE datastore_object (
    app_id bigint NOT NULL,
    class_name text NOT NULL,
    object_id text NOT NULL,
    data jsonb NOT NULL DEFAULT '{}'::jsonb,
    _rperm text[],
    _wperm text[],
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    expire_at timestamptz,
    PRIMARY KEY (app_id, class_name, object_id)
) PARTITION BY LIST (app_id);

CREATE TABLE datastore_relation (
    app_id bigint NOT NULL,
    owner_class text NOT NULL,
    owner_id text NOT NULL,
    key text NOT NULL,
    related_class text NOT NULL,
    related_id text NOT NULL,
    PRIMARY KEY (app_id, owner_class, owner_id, key, related_id)
) PARTITION BY LIST (app_id);
"""

DROP = "DROP TABLE IF EXISTS datastore_relation; DROP TABLE IF EXISTS datastore_object;"


class Migration(migrations.Migration):
    dependencies = [("datastore", "0002_initial")]
    operations = [migrations.RunSQL(CREATE, DROP)]
