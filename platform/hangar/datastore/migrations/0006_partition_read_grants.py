"""Data-plane statements name an app's partition directly (hangar.datastore.partitions.object_partition);
grant the data-plane role access to the partitions that already exist (new ones get it at provisioning)."""

from django.db import migrations

FORWARD = """
DO $$
DECLARE part regclass;
BEGIN
    FOR part IN
        SELECT inhrelid::regclass FROM pg_inherits
        WHERE inhparent IN ('datastore_object'::regclass, 'datastore_relation'::regclass)
    LOOP
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %s TO hangar_dataplane', part);
    END LOOP;
END $$;
"""


class Migration(migrations.Migration):
    dependencies = [("datastore", "0005_parse_config")]
    operations = [migrations.RunSQL(FORWARD, migrations.RunSQL.noop)]
