"""Per-app cloud-code deadlines; the data plane reads them with the app (hangar.admission.registry)."""

import django.db.models.deletion
from django.db import migrations, models

ROLE = "hangar_dataplane"


class Migration(migrations.Migration):
    dependencies = [("cloudcode", "0003_activation_restrict"), ("tenants", "0005_live_query_settings")]

    operations = [
        migrations.CreateModel(
            name="CloudLimits",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("function_timeout_seconds", models.FloatField(blank=True, null=True)),
                ("trigger_timeout_seconds", models.FloatField(blank=True, null=True)),
                (
                    "app",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE, related_name="cloud_limits", to="tenants.app"
                    ),
                ),
            ],
        ),
        migrations.RunSQL(
            f"GRANT SELECT (app_id, function_timeout_seconds, trigger_timeout_seconds) "
            f"ON cloudcode_cloudlimits TO {ROLE};",
            f"REVOKE ALL ON cloudcode_cloudlimits FROM {ROLE};",
        ),
    ]
