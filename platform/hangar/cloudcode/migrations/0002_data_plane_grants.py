"""What the data plane may read of cloud code: which version is active and what it registered.

Column grants only: the data plane role never reads a bundle's archive or a variable's
ciphertext (those are read by the control plane when a worker starts).
"""

from django.db import migrations

ROLE = "hangar_dataplane"

FORWARD = f"""
GRANT SELECT (app_id, version_id) ON cloudcode_cloudactivation TO {ROLE};
GRANT SELECT (id, app_id, number, handlers) ON cloudcode_cloudversion TO {ROLE};
GRANT SELECT (app_id, updated_at) ON cloudcode_cloudvariable TO {ROLE};
"""

BACKWARD = f"""
REVOKE ALL ON cloudcode_cloudactivation FROM {ROLE};
REVOKE ALL ON cloudcode_cloudversion FROM {ROLE};
REVOKE ALL ON cloudcode_cloudvariable FROM {ROLE};
"""


class Migration(migrations.Migration):
    dependencies = [("cloudcode", "0001_initial"), ("datastore", "0004_row_level_security")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
