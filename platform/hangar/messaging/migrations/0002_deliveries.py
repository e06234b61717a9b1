"""The push engine's tables (deliveries, campaign runs), what the data plane may do with them, and two helpers.

- Grants and row-level security as on the datastore's shared tables (datastore 0004): the
  engine's Celery tasks work on the data plane's pool, bound to one app per transaction.
- ``messaging_counts_add(counts, deltas)``: adds a JSON object of numbers into another, for
  ``_PushStatus``'s ``sentPerType``-like counters, inside one UPDATE (atomic increments,
  never a read-modify-write in Python).
- A partial index on ``_PushStatus`` rows by status, for the engine's periodic tick that looks
  for campaigns due and not running, across every app.
"""

import django.db.models.deletion
from django.db import migrations, models

ROLE = "hangar_dataplane"
TABLES = ("messaging_pushdelivery", "messaging_pushcampaignrun")

FORWARD = (
    "".join(
        f"""
GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {ROLE};
GRANT USAGE, SELECT ON SEQUENCE {table}_id_seq TO {ROLE};
ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
CREATE POLICY {table}_current_app ON {table}
    USING (app_id = NULLIF(current_setting('hangar.app_id', true), '')::bigint)
    WITH CHECK (app_id = NULLIF(current_setting('hangar.app_id', true), '')::bigint);
"""
        for table in TABLES
    )
    + """
CREATE FUNCTION messaging_counts_add(counts jsonb, deltas jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT COALESCE(CASE WHEN jsonb_typeof(counts) = 'object' THEN counts END, '{}'::jsonb)
        || COALESCE((SELECT jsonb_object_agg(d.key, COALESCE((counts->>d.key)::numeric, 0) + d.value::numeric)
                     FROM jsonb_each_text(deltas) AS d), '{}'::jsonb)
$$;
GRANT EXECUTE ON FUNCTION messaging_counts_add(jsonb, jsonb) TO hangar_dataplane;
CREATE INDEX datastore_object_push_status ON datastore_object ((data->>'status'), app_id, object_id)
    WHERE class_name = '_PushStatus';
"""
)
BACKWARD = (
    "DROP INDEX IF EXISTS datastore_object_push_status; DROP FUNCTION IF EXISTS messaging_counts_add(jsonb, jsonb);"
    + "".join(
        f"DROP POLICY IF EXISTS {table}_current_app ON {table}; REVOKE ALL ON {table} FROM {ROLE};" for table in TABLES
    )
)


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0001_initial"),
        ("tenants", "0006_plan_cloud_timeouts"),
        ("datastore", "0004_row_level_security"),
    ]

    operations = [
        migrations.CreateModel(
            name="PushCampaignRun",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("campaign_id", models.CharField(max_length=32)),
                ("cursor", models.CharField(blank=True, default="", max_length=32)),
                ("resolved", models.BooleanField(default=False)),
                ("lease_owner", models.CharField(blank=True, default="", max_length=64)),
                ("lease_until", models.DateTimeField(null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "app",
                    models.ForeignKey(
                        db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="+", to="tenants.app"
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("app", "campaign_id"), name="messaging_campaign_run_once")
                ],
            },
        ),
        migrations.CreateModel(
            name="PushDelivery",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("campaign_id", models.CharField(max_length=32)),
                ("installation_id", models.CharField(max_length=32)),
                ("device_type", models.CharField(max_length=32)),
                ("push_type", models.CharField(blank=True, default="", max_length=32)),
                ("device_token", models.TextField()),
                ("app_identifier", models.CharField(blank=True, default="", max_length=255)),
                ("locale", models.CharField(blank=True, default="", max_length=64)),
                ("utc_offset", models.CharField(blank=True, default="", max_length=8)),
                ("badge", models.IntegerField(null=True)),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("queued", "Queued"),
                            ("sending", "Sending"),
                            ("sent", "Sent"),
                            ("failed", "Failed"),
                            ("invalid", "Invalid"),
                        ],
                        default="queued",
                        max_length=8,
                    ),
                ),
                ("attempts", models.PositiveSmallIntegerField(default=0)),
                ("error", models.CharField(blank=True, default="", max_length=200)),
                ("due_at", models.DateTimeField()),
                ("expires_at", models.DateTimeField(null=True)),
                ("enqueued_at", models.DateTimeField(null=True)),
                ("claimed_by", models.CharField(blank=True, default="", max_length=64)),
                ("claimed_at", models.DateTimeField(null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "app",
                    models.ForeignKey(
                        db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="+", to="tenants.app"
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["app", "campaign_id", "state"], name="messaging_delivery_state"),
                    models.Index(
                        condition=models.Q(("state", "queued")), fields=["due_at"], name="messaging_delivery_due"
                    ),
                    models.Index(
                        condition=models.Q(("state", "sending")),
                        fields=["claimed_at"],
                        name="messaging_delivery_claimed",
                    ),
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("app", "campaign_id", "installation_id"),
                        name="messaging_delivery_once_per_installation",
                    )
                ],
            },
        ),
        migrations.RunSQL(FORWARD, BACKWARD),
    ]
