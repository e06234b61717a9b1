"""The gateway records /schemas changes on the data plane (hangar.schema_history.recording): the
data-plane role may read and add migrations, of the app its transaction names only."""

from django.db import migrations

ROLE = "hangar_dataplane"
TABLE = "schema_history_schemamigration"
_POLICY = "(app_id = NULLIF(current_setting('hangar.app_id', true), '')::bigint)"
FORWARD = (
    f"GRANT SELECT, INSERT ON {TABLE} TO {ROLE};"
    f"GRANT USAGE, SELECT ON SEQUENCE {TABLE}_id_seq TO {ROLE};"
    f"ALTER TABLE {TABLE} ENABLE ROW LEVEL SECURITY;"
    f"CREATE POLICY {TABLE}_current_app ON {TABLE} USING {_POLICY} WITH CHECK {_POLICY};"
)
BACKWARD = (
    f"DROP POLICY IF EXISTS {TABLE}_current_app ON {TABLE};"
    f"ALTER TABLE {TABLE} DISABLE ROW LEVEL SECURITY;"
    f"REVOKE ALL ON {TABLE} FROM {ROLE};"
    f"REVOKE ALL ON SEQUENCE {TABLE}_id_seq FROM {ROLE};"
)


class Migration(migrations.Migration):
    dependencies = [
        ("schema_history", "0001_initial"),
        ("datastore", "0004_row_level_security"),  # creates the hangar_dataplane role
    ]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
