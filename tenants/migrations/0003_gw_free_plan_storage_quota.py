"""The default ("free") plan had an unlimited storage quota (0): give it HANGAR_FILES_DEFAULT_QUOTA_BYTES."""

from django.conf import settings
from django.db import migrations

DEFAULT_PLAN_NAME = "free"  # tenants.services.organizations.DEFAULT_PLAN_NAME, frozen here


def _finite_quota(apps, schema_editor):
    Plan = apps.get_model("tenants", "Plan")
    Plan.objects.filter(name=DEFAULT_PLAN_NAME, storage_quota_bytes=0).update(
        storage_quota_bytes=settings.HANGAR_FILES_DEFAULT_QUOTA_BYTES
    )


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0002_plan_storage_quota_bytes"),
    ]

    operations = [
        migrations.RunPython(_finite_quota, migrations.RunPython.noop),
    ]
