"""One user per provider id: unique ``_User.authData.<provider>.id`` per app (reference §10.2).

The link check in the write path (hangar.identity.auth_data_rules) reads before it writes,
so two first links of the same new provider id could both pass it; these partial unique
indexes, one per provider Hangar accepts, close that race as 0007 does for usernames (the
write path turns the violation into 208 "this auth is already used"). They also serve the
lookup every authData login makes, which was a scan of the app's users.

Existing data may already break the rule. Before building the indexes: a provider id over
1024 bytes (only an anonymous id can be one: every other provider's id comes from its
server) cannot be a btree entry and is unlinked; of several users linked to one provider
id, the oldest (by createdAt, then objectId) keeps the link and the later ones lose that
provider, as they would have been refused it. Users themselves are never deleted.
"""

from django.db import migrations

# hangar.identity.oauth accepts exactly these (anonymous, and oidc.PROVIDERS).
PROVIDERS = ("anonymous", "google", "apple", "facebook", "github", "oidc")
MAX_ID_BYTES = 1024


def _index_name(provider: str) -> str:
    return f"datastore_object_user_authdata_{provider}"


def _unlink_sql(provider: str) -> str:
    # ``provider`` is one of the literals above, never input.
    path = f"data->'authData'->'{provider}'->>'id'"
    return f"""
UPDATE datastore_object AS later SET data = jsonb_set(data, '{{authData}}', (data->'authData') - '{provider}'),
       updated_at = now()
WHERE later.class_name = '_User' AND later.{path} IS NOT NULL AND (
    octet_length(later.{path}) > {MAX_ID_BYTES}
    OR EXISTS (
        SELECT 1 FROM datastore_object AS earlier
        WHERE earlier.app_id = later.app_id AND earlier.class_name = '_User'
          AND earlier.{path} = later.{path}
          AND (earlier.created_at, earlier.object_id) < (later.created_at, later.object_id)
    )
);
"""


FORWARD = "".join(
    _unlink_sql(provider) + f"CREATE UNIQUE INDEX {_index_name(provider)} ON datastore_object "
    f"(app_id, (data->'authData'->'{provider}'->>'id')) WHERE class_name = '_User';\n"
    for provider in PROVIDERS
)
BACKWARD = "".join(f"DROP INDEX IF EXISTS {_index_name(provider)};\n" for provider in PROVIDERS)


class Migration(migrations.Migration):
    dependencies = [("datastore", "0010_sysclasses_system_class_defaults")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
