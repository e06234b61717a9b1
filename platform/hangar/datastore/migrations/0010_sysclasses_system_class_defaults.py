"""System classes of existing apps get the CLP new apps start with (hangar.datastore.system_classes).

Only a CLP still equal to the old all-public default is replaced: one a developer changed
is theirs and stays. The rules that matter for security (clients never list or delete
installations, see only their own sessions, add no field to a system class) are enforced
in code whatever the CLP says; the CLP shows them. Also an index for the installationId
lookup every installation create does (hangar.datastore.installation_rules).
"""

from typing import Any

from django.db import migrations

_OPERATIONS = ("find", "count", "get", "create", "update", "delete", "addField")
OLD_DEFAULT: dict[str, Any] = {**{op: {"*": True} for op in _OPERATIONS}, "protectedFields": {"*": []}}
MASTER_ONLY: dict[str, tuple[str, ...]] = {
    "_User": ("addField",),
    "_Role": ("addField",),
    "_Session": ("create", "addField"),
    "_Installation": ("find", "count", "delete", "addField"),
}


def new_default(class_name: str) -> dict[str, Any]:
    return {**OLD_DEFAULT, **{op: {} for op in MASTER_ONLY[class_name]}}


def upgrade_system_class_permissions(schema_class: Any) -> int:
    """Give every system class still on the old public default the new one; returns how many changed."""
    changed = 0
    for row in schema_class.objects.filter(class_name__in=list(MASTER_ONLY)).only(
        "id", "class_name", "class_level_permissions"
    ):
        if row.class_level_permissions == OLD_DEFAULT:
            row.class_level_permissions = new_default(row.class_name)
            row.save(update_fields=["class_level_permissions"])
            changed += 1
    return changed


def forward(apps: Any, schema_editor: Any) -> None:
    upgrade_system_class_permissions(apps.get_model("datastore", "SchemaClass"))


INDEX_SQL = """
CREATE INDEX datastore_object_installation_id ON datastore_object (app_id, (data->>'installationId'))
    WHERE class_name = '_Installation';
"""


class Migration(migrations.Migration):
    dependencies = [("datastore", "0009_authdata_strip_provider_tokens")]
    operations = [
        migrations.RunPython(forward, migrations.RunPython.noop),
        migrations.RunSQL(INDEX_SQL, "DROP INDEX IF EXISTS datastore_object_installation_id;"),
    ]
