from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0004_dev_access_token_expiry"),
    ]

    operations = [
        migrations.AddField(
            model_name="plan",
            name="max_live_connections",
            field=models.PositiveIntegerField(
                default=0,
                help_text="LiveQuery WebSocket connections per app, over all processes; 0 means unlimited.",
            ),
        ),
        migrations.AddField(
            model_name="app",
            name="live_query_classes",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text="Classes LiveQuery clients may subscribe to (Parse's liveQuery.classNames); empty means all.",
            ),
        ),
    ]
