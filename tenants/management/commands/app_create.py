"""``manage.py app_create --org NAME --name APP [--owner EMAIL] [--json]``: create an app for scripts."""

from __future__ import annotations

import json
import os
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.errors import TenantsError
from tenants.services import operator_app_create


class Command(BaseCommand):
    help = "Create an app (and its organization and owner if missing) and print its id and keys."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--org", required=True, help="organization name (created if the owner has none by that name)"
        )
        parser.add_argument("--name", required=True, help="app name")
        parser.add_argument(
            "--owner",
            default=os.environ.get("HANGAR_OPERATOR_EMAIL", "operator@localhost.localdomain"),
            help="owner's email (created if missing); default $HANGAR_OPERATOR_EMAIL",
        )
        parser.add_argument("--json", action="store_true", help="print JSON only")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            app, keys = operator_app_create(
                organization_name=options["org"], app_name=options["name"], owner_email=options["owner"]
            )
        except TenantsError as exc:
            raise CommandError(exc.message) from exc
        secret_keys = {kind: value for kind, value in keys.items() if kind != "application_id"}
        result = {
            "app": {"id": app.pk, "name": app.name, "organization": app.organization.name},
            "application_id": keys["application_id"],
            "keys": secret_keys,
            "server_url": f"{settings.HANGAR_PUBLIC_URL}{settings.HANGAR_PARSE_MOUNT}",
        }
        if options["json"]:
            self.stdout.write(json.dumps(result, indent=2))
            return
        self.stdout.write(f"Created app {app.name!r} in {app.organization.name!r}")
        self.stdout.write(f"  server URL      {result['server_url']}")
        self.stdout.write(f"  application id  {result['application_id']}")
        for kind, value in secret_keys.items():
            self.stdout.write(f"  {kind:<15} {value}")
