"""``manage.py cloud_deploy --app <applicationId> <folder-or-zip> [--json]``: deploy a bundle from a shell."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from hangar.cloudcode.bundles import BundleError, bundle_from_path
from hangar.cloudcode.services import DeployError, deploy_version
from tenants.models import App


class Command(BaseCommand):
    help = "Validate a cloud-code bundle in the sandbox, store it as a new version and activate it."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--app", required=True, help="the app's applicationId")
        parser.add_argument("path", help="a folder with main.py, or a zip of one")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")
        parser.add_argument("--note", default="", help="a note kept with the version")
        parser.add_argument("--no-activate", action="store_true", help="store the version without activating it")

    def handle(self, *args: Any, **options: Any) -> None:
        app = App.objects.filter(application_id=options["app"]).first()
        if app is None:
            raise CommandError(f"no app with applicationId {options['app']!r}")
        try:
            bundle = bundle_from_path(Path(options["path"]))
            version = deploy_version(
                app, bundle, created_by="cloud_deploy", note=options["note"], activate=not options["no_activate"]
            )
        except BundleError as exc:
            self._fail(options, {"error": str(exc), "file": None, "line": None})
        except DeployError as exc:
            self._fail(options, exc.as_dict())
        result = {"app": app.application_id, "version": version.number, "active": not options["no_activate"],
                  "sha256": version.sha256, "handlers": version.handlers}  # fmt: skip
        if options["json"]:
            self.stdout.write(json.dumps(result))
        else:
            handlers = version.handlers
            self.stdout.write(
                f"version {version.number} of {app.application_id}"
                f"{' (active)' if result['active'] else ''}: "
                f"{len(handlers.get('functions', []))} functions, {len(handlers.get('triggers', []))} triggers, "
                f"{len(handlers.get('jobs', []))} jobs"
            )

    def _fail(self, options: dict[str, Any], error: dict[str, Any]) -> None:
        if options["json"]:
            self.stdout.write(json.dumps(error))
        where = f"{error['file']}:{error['line']}: " if error.get("file") and error.get("line") else ""
        raise CommandError(f"{where}{error['error']}")
