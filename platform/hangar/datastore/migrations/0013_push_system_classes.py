"""Every existing app gets the system classes of push: ``_Audience`` and ``_PushStatus``; installations get a token index.

New apps get the classes from hangar.datastore.system_classes; the fields and the
master-only CLP are frozen here as they were when the classes were added (Parse Server's
defaults). The index serves the deviceToken lookup of every installation create
(hangar.datastore.installation_rules), beside 0010's installationId index.
"""

from typing import Any

from django.db import migrations

_BASE = {
    "objectId": {"type": "String"},
    "createdAt": {"type": "Date"},
    "updatedAt": {"type": "Date"},
    "ACL": {"type": "ACL"},
}
FIELDS: dict[str, dict[str, Any]] = {
    "_Audience": {
        **_BASE,
        "name": {"type": "String"},
        "query": {"type": "String"},
        "lastUsed": {"type": "Date"},
        "timesUsed": {"type": "Number"},
    },
    "_PushStatus": {
        **_BASE,
        "pushTime": {"type": "String"},
        "source": {"type": "String"},
        "query": {"type": "String"},
        "payload": {"type": "String"},
        "title": {"type": "String"},
        "expiry": {"type": "Number"},
        "expiration_interval": {"type": "Number"},
        "status": {"type": "String"},
        "numSent": {"type": "Number"},
        "numFailed": {"type": "Number"},
        "pushHash": {"type": "String"},
        "errorMessage": {"type": "Object"},
        "sentPerType": {"type": "Object"},
        "failedPerType": {"type": "Object"},
        "sentPerUTCOffset": {"type": "Object"},
        "failedPerUTCOffset": {"type": "Object"},
        "count": {"type": "Number"},
    },
}
MASTER_ONLY_CLP = {
    **{op: {} for op in ("find", "count", "get", "create", "update", "delete", "addField")},
    "protectedFields": {"*": []},
}


def forward(apps: Any, schema_editor: Any) -> None:
    schema_class = apps.get_model("datastore", "SchemaClass")
    app_ids = set(schema_class.objects.filter(class_name="_User").values_list("app_id", flat=True))
    for class_name, fields in FIELDS.items():
        have = set(schema_class.objects.filter(class_name=class_name).values_list("app_id", flat=True))
        schema_class.objects.bulk_create(
            schema_class(app_id=app_id, class_name=class_name, fields=fields, class_level_permissions=MASTER_ONLY_CLP)
            for app_id in sorted(app_ids - have)
        )


def backward(apps: Any, schema_editor: Any) -> None:
    apps.get_model("datastore", "SchemaClass").objects.filter(class_name__in=list(FIELDS)).delete()


DEVICE_INDEX_SQL = """
CREATE INDEX datastore_object_installation_token ON datastore_object (app_id, (data->>'deviceToken'))
    WHERE class_name = '_Installation';
"""


class Migration(migrations.Migration):
    dependencies = [("datastore", "0012_job_system_classes")]
    operations = [
        migrations.RunPython(forward, backward),
        migrations.RunSQL(DEVICE_INDEX_SQL, "DROP INDEX IF EXISTS datastore_object_installation_token;"),
    ]
