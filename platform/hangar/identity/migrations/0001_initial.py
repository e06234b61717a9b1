"""Per-app auth settings, read by the data plane under row-level security (like datastore 0005)."""

import django.db.models.deletion
from django.db import migrations, models

ROLE = "hangar_dataplane"
TABLE = "identity_authsettings"

FORWARD = f"""
GRANT SELECT ON {TABLE} TO {ROLE};
ALTER TABLE {TABLE} ENABLE ROW LEVEL SECURITY;
CREATE POLICY {TABLE}_current_app ON {TABLE}
    USING (app_id = NULLIF(current_setting('hangar.app_id', true), '')::bigint);
"""

BACKWARD = f"""
DROP POLICY IF EXISTS {TABLE}_current_app ON {TABLE};
ALTER TABLE {TABLE} DISABLE ROW LEVEL SECURITY;
REVOKE ALL ON {TABLE} FROM {ROLE};
"""


class Migration(migrations.Migration):
    initial = True
    dependencies = [("tenants", "0001_initial"), ("datastore", "0007_user_unique_indexes")]

    operations = [
        migrations.CreateModel(
            name="AuthSettings",
            fields=[
                (
                    "app",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="auth_settings",
                        serialize=False,
                        to="tenants.app",
                    ),
                ),
                ("session_length_seconds", models.PositiveIntegerField(default=31536000)),
                ("revoke_session_on_password_reset", models.BooleanField(default=True)),
                ("allow_anonymous_users", models.BooleanField(default=True)),
                ("password_min_length", models.PositiveIntegerField(default=0)),
                ("password_pattern", models.CharField(blank=True, default="", max_length=500)),
                ("password_disallow_username", models.BooleanField(default=False)),
                ("password_history", models.PositiveIntegerField(default=0)),
                (
                    "lockout_threshold",
                    models.PositiveIntegerField(default=0, help_text="Failed logins before lockout; 0 = off."),
                ),
                ("lockout_minutes", models.PositiveIntegerField(default=5)),
                ("verify_user_emails", models.BooleanField(default=False)),
                ("prevent_login_with_unverified_email", models.BooleanField(default=False)),
                ("email_verify_token_minutes", models.PositiveIntegerField(default=1440)),
                ("reset_token_minutes", models.PositiveIntegerField(default=60)),
                ("oauth_providers", models.JSONField(blank=True, default=dict)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
        ),
        migrations.RunSQL(FORWARD, BACKWARD),
    ]
