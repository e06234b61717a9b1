"""Parse Server's ``emailVerifyTokenReuseIfValid`` as a per-app auth setting."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("identity", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="authsettings",
            name="email_verify_token_reuse_if_valid",
            field=models.BooleanField(
                default=False,
                help_text="A new verification request mails the still-valid link again instead of a new one.",
            ),
        ),
    ]
