"""Per-app Parse Config, read and written by the data plane under row-level security.

Like the tables of migration 0004, ``datastore_parseconfig`` only ever shows the
data plane (role ``hangar_dataplane``) the rows of the app its transaction names.
"""

import django.db.models.deletion
from django.db import migrations, models

ROLE = "hangar_dataplane"
TABLE = "datastore_parseconfig"

FORWARD = f"""
GRANT SELECT, INSERT, UPDATE, DELETE ON {TABLE} TO {ROLE};
ALTER TABLE {TABLE} ENABLE ROW LEVEL SECURITY;
CREATE POLICY {TABLE}_current_app ON {TABLE}
    USING (app_id = NULLIF(current_setting('hangar.app_id', true), '')::bigint)
    WITH CHECK (app_id = NULLIF(current_setting('hangar.app_id', true), '')::bigint);
"""

BACKWARD = f"""
DROP POLICY IF EXISTS {TABLE}_current_app ON {TABLE};
ALTER TABLE {TABLE} DISABLE ROW LEVEL SECURITY;
REVOKE ALL ON {TABLE} FROM {ROLE};
"""


class Migration(migrations.Migration):
    dependencies = [
        ("datastore", "0004_row_level_security"),
        ("tenants", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="ParseConfig",
            fields=[
                (
                    "app",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="parse_config",
                        serialize=False,
                        to="tenants.app",
                    ),
                ),
                ("params", models.JSONField(default=dict)),
                ("master_key_only", models.JSONField(default=dict)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
        ),
        migrations.RunSQL(FORWARD, BACKWARD),
    ]
