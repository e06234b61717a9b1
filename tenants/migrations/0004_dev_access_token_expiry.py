"""Every personal access token expires (see docs/tenants.md).

Tokens made before this had no expiry when none was asked for; they get the default
lifetime (HANGAR_ACCESS_TOKEN_DEFAULT_DAYS) counted from the migration, so that no
script breaks the day of the upgrade and none runs forever on a forgotten token.
"""

from datetime import timedelta

from django.conf import settings
from django.db import migrations, models
from django.utils import timezone


def give_open_tokens_the_default_expiry(apps, schema_editor):  # noqa: ANN001, ANN201 (migration signature)
    PersonalAccessToken = apps.get_model("tenants", "PersonalAccessToken")  # noqa: N806
    expires_at = timezone.now() + timedelta(days=getattr(settings, "HANGAR_ACCESS_TOKEN_DEFAULT_DAYS", 90))
    PersonalAccessToken.objects.filter(expires_at__isnull=True).update(expires_at=expires_at)


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0003_gw_free_plan_storage_quota"),
    ]

    operations = [
        migrations.RunPython(give_open_tokens_the_default_expiry, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="personalaccesstoken",
            name="expires_at",
            field=models.DateTimeField(),
        ),
    ]
