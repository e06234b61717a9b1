"""Unique ``_User.username`` and ``_User.email`` per app, case-insensitively (reference §10.1, §14).

Created on the partitioned parent, so every app partition gets them (existing ones now,
new ones when ATTACH PARTITION builds the missing indexes). They also serve the login
lookup (``lower(data->>'username') = lower(%s)``). The check in the sign-up service gives
Parse's messages; these indexes close the race between two concurrent sign-ups.
"""

from django.db import migrations

FORWARD = """
CREATE UNIQUE INDEX datastore_object_user_username ON datastore_object (app_id, lower(data->>'username'))
    WHERE class_name = '_User';
CREATE UNIQUE INDEX datastore_object_user_email ON datastore_object (app_id, lower(data->>'email'))
    WHERE class_name = '_User';
CREATE INDEX datastore_object_session_user ON datastore_object (app_id, (data->'user'->>'objectId'))
    WHERE class_name = '_Session';
"""

BACKWARD = """
DROP INDEX IF EXISTS datastore_object_user_username;
DROP INDEX IF EXISTS datastore_object_user_email;
DROP INDEX IF EXISTS datastore_object_session_user;
"""


class Migration(migrations.Migration):
    dependencies = [("datastore", "0006_partition_read_grants")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
