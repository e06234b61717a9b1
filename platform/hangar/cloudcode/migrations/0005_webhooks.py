"""Function and trigger webhooks (Parse's /hooks API); admission reads them with the app on the data plane."""

import django.db.models.deletion
from django.db import migrations, models

ROLE = "hangar_dataplane"
# Admission (hangar.admission.registry) loads an app's webhooks with the app; the data plane
# writes none of them (the /hooks routes write through the control plane's ORM).
GRANT = (
    f"GRANT SELECT (app_id, kind, function_name, class_name, trigger_name, url) ON cloudcode_cloudwebhook TO {ROLE};"
)
REVOKE = f"REVOKE ALL ON cloudcode_cloudwebhook FROM {ROLE};"


class Migration(migrations.Migration):
    dependencies = [
        ("cloudcode", "0004_app_limits"),
        ("tenants", "0005_live_query_settings"),
    ]

    operations = [
        migrations.CreateModel(
            name="CloudWebhook",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("kind", models.CharField(choices=[("function", "function"), ("trigger", "trigger")], max_length=16)),
                ("function_name", models.CharField(blank=True, default="", max_length=128)),
                ("class_name", models.CharField(blank=True, default="", max_length=128)),
                ("trigger_name", models.CharField(blank=True, default="", max_length=32)),
                ("url", models.CharField(max_length=2048)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "app",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="cloud_webhooks", to="tenants.app"
                    ),
                ),
            ],
            options={
                "ordering": ["kind", "function_name", "class_name", "trigger_name"],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("kind", "function")),
                        fields=("app", "function_name"),
                        name="cloudcode_webhook_function_per_app",
                    ),
                    models.UniqueConstraint(
                        condition=models.Q(("kind", "trigger")),
                        fields=("app", "class_name", "trigger_name"),
                        name="cloudcode_webhook_trigger_per_app",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(
                                ("kind", "function"), models.Q(("function_name", ""), _negated=True), ("class_name", "")
                            ),
                            models.Q(
                                ("kind", "trigger"),
                                ("function_name", ""),
                                models.Q(("class_name", ""), _negated=True),
                                models.Q(("trigger_name", ""), _negated=True),
                            ),
                            _connector="OR",
                        ),
                        name="cloudcode_webhook_kind_fields",
                    ),
                ],
            },
        ),
        migrations.RunSQL(GRANT, REVOKE),
    ]
