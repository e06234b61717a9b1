"""``manage.py cloud_webhook_key --app <applicationId>``: print the key an app's webhooks receive.

Every webhook request carries it in ``X-Parse-Webhook-Key``; the developer's endpoint
compares it to tell Hangar's calls from anyone else's. It is derived from SECRET_KEY and
the app id (hangar.cloudcode.webhooks.webhook_key), so rotating SECRET_KEY changes it.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from hangar.cloudcode.webhooks import webhook_key
from tenants.models import App


class Command(BaseCommand):
    help = "Print the X-Parse-Webhook-Key that an app's function and trigger webhooks receive."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--app", required=True, help="the app's applicationId")

    def handle(self, *args: Any, **options: Any) -> None:
        if not App.objects.filter(application_id=options["app"]).exists():
            raise CommandError(f"no app with applicationId {options['app']!r}")
        self.stdout.write(webhook_key(options["app"]))
