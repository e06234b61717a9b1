"""Every existing app gets the system classes of cloud-code jobs: ``_JobStatus`` and ``_JobSchedule``.

New apps get them from hangar.datastore.system_classes; the fields and the master-only
CLP are frozen here as they were when the classes were added (Parse Server's defaults).
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
    "_JobStatus": {
        **_BASE,
        "jobName": {"type": "String"},
        "source": {"type": "String"},
        "status": {"type": "String"},
        "message": {"type": "String"},
        "params": {"type": "Object"},
        "finishedAt": {"type": "Date"},
    },
    "_JobSchedule": {
        **_BASE,
        "jobName": {"type": "String"},
        "description": {"type": "String"},
        "params": {"type": "String"},
        "startAfter": {"type": "String"},
        "daysOfWeek": {"type": "Array"},
        "timeOfDay": {"type": "String"},
        "lastRun": {"type": "Number"},
        "repeatMinutes": {"type": "Number"},
        "cron": {"type": "String"},
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


class Migration(migrations.Migration):
    dependencies = [("datastore", "0011_user_auth_data_unique")]
    operations = [migrations.RunPython(forward, backward)]
