"""Row-level security on app data, and the indexes the data plane's lookups need.

The data plane switches its connections to the NOLOGIN role ``hangar_dataplane``
(hangar.db_pool) and runs every request in a transaction that sets ``hangar.app_id``
(hangar.datastore.connection). The policies below then only ever show that app's rows:
a query that forgot its app filter returns the current app's rows at most, and on a
connection where no app is set it returns nothing. Superusers and the tables' owner
(the control plane's ORM) are not subject to these policies.
"""

from django.db import migrations

ROLE = "hangar_dataplane"
POLICY_TABLES = ("datastore_object", "datastore_relation", "datastore_schemaclass")
READ_TABLES = ("tenants_app", "tenants_appkey", "tenants_organization", "tenants_plan")

FORWARD = (
    f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{ROLE}') THEN
        CREATE ROLE {ROLE} NOLOGIN;
    END IF;
END $$;
GRANT {ROLE} TO CURRENT_USER;
GRANT SELECT, INSERT, UPDATE, DELETE ON {", ".join(POLICY_TABLES)} TO {ROLE};
GRANT SELECT ON {", ".join(READ_TABLES)} TO {ROLE};
GRANT USAGE, SELECT ON SEQUENCE datastore_schemaclass_id_seq TO {ROLE};
"""
    + "".join(
        f"""
ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
CREATE POLICY {table}_current_app ON {table}
    USING (app_id = NULLIF(current_setting('hangar.app_id', true), '')::bigint)
    WITH CHECK (app_id = NULLIF(current_setting('hangar.app_id', true), '')::bigint);
"""
        for table in POLICY_TABLES
    )
    + """
CREATE INDEX datastore_relation_related ON datastore_relation (app_id, related_id, key, owner_class);
CREATE INDEX datastore_object_session_token ON datastore_object (app_id, (data->>'_session_token_hash'))
    WHERE class_name = '_Session';
"""
)

BACKWARD = (
    "DROP INDEX IF EXISTS datastore_object_session_token; DROP INDEX IF EXISTS datastore_relation_related;"
    + "".join(
        f"DROP POLICY IF EXISTS {table}_current_app ON {table}; ALTER TABLE {table} DISABLE ROW LEVEL SECURITY;"
        for table in POLICY_TABLES
    )
    + f"REVOKE ALL ON {', '.join(POLICY_TABLES + READ_TABLES)} FROM {ROLE};"
    + f"REVOKE ALL ON SEQUENCE datastore_schemaclass_id_seq FROM {ROLE};"
)


class Migration(migrations.Migration):
    dependencies = [("datastore", "0003_partitioned_tables"), ("tenants", "0001_initial")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
