"""Keep only the proven ``id`` of every ``_User.authData`` provider (security finding 2).

Since hangar.identity.oauth.auth_data_to_store, a validated provider is stored as ``{"id"}``;
users linked before kept whatever the client sent (access tokens, ID tokens). This rewrites
those rows once, so a leaked user row no longer carries live provider credentials. Nothing
reads the dropped keys. There is no way back: the tokens are gone on purpose.
"""

from django.db import migrations

FORWARD = """
UPDATE datastore_object
SET data = jsonb_set(data, '{authData}', (
    SELECT jsonb_object_agg(
        provider.key,
        CASE WHEN jsonb_typeof(provider.value) = 'object'
             THEN jsonb_strip_nulls(jsonb_build_object('id', provider.value->'id'))
             ELSE provider.value END)
    FROM jsonb_each(data->'authData') AS provider))
WHERE class_name = '_User'
  AND jsonb_typeof(data->'authData') = 'object'
  AND EXISTS (
    SELECT 1 FROM jsonb_each(data->'authData') AS provider
    WHERE CASE WHEN jsonb_typeof(provider.value) = 'object' THEN provider.value - 'id' <> '{}'::jsonb
               ELSE false END);
"""


class Migration(migrations.Migration):
    dependencies = [("datastore", "0008_roles_role_name_unique")]
    operations = [migrations.RunSQL(FORWARD, migrations.RunSQL.noop)]
