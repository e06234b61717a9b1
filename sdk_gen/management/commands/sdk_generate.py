"""``python manage.py sdk_generate --app <applicationId> --lang python|typescript|java|openapi --out DIR``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sdk_gen.generate import LANGUAGES, sources_for
from sdk_gen.services import parse_server_url, sdk_snapshot_record
from tenants.models import App


class Command(BaseCommand):
    help = "Write an app's generated SDK (or its OpenAPI document) into a directory."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--app", required=True, help="the app's applicationId")
        parser.add_argument("--lang", required=True, choices=LANGUAGES)
        parser.add_argument("--out", required=True, help="directory to write into (created if missing)")

    def handle(self, *args: Any, **options: Any) -> None:
        app = App.objects.filter(application_id=options["app"], status=App.Status.ACTIVE).first()
        if app is None:
            raise CommandError(f"no active app with applicationId {options['app']!r}")
        spec, snapshot = sdk_snapshot_record(app=app)
        files = sources_for(spec, language=options["lang"], version=snapshot.version, server_url=parse_server_url())
        out = Path(options["out"]).resolve()
        for relative, text in files.items():
            target = out / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        self.stdout.write(
            f"wrote {len(files)} files of the {options['lang']} SDK {snapshot.version} "
            f"(schema {snapshot.schema_hash[:12]}) to {out}"
        )
