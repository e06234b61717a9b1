"""``manage.py build_ios_project --app <applicationId> --profile <profile.json> --out <folder> [--credential <name>]``.

Writes the Xcode project of the app's iOS shell (hangar.builds.ios.project) for a macOS agent
or a developer to build with Xcode. The profile JSON is build_request's, with ``bundle_id``
for the package; a stored iOS credential names the team and the provisioning profile in
ExportOptions.plist (its secrets stay in the vault). Nothing is built here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from hangar.builds.android.spec import HangarConnection, icon_checked, start_url_checked, web_bundle_checked
from hangar.builds.errors import BuildError
from hangar.builds.ios.credentials import bundle_id_matches
from hangar.builds.ios.project import IosProjectSpec, bundle_id_checked, project_write
from hangar.builds.models import SigningCredential
from hangar.builds.profiles import ICON_MAX_BYTES
from hangar.secretbox import decrypt_secret
from tenants.models import App, AppKey


class Command(BaseCommand):
    help = "Write the Xcode project of an app's iOS shell (structure only; Xcode on macOS builds it)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--app", required=True, help="the app's applicationId")
        parser.add_argument("--profile", required=True, help="the profile JSON file (bundle_id, label, ...)")
        parser.add_argument("--out", required=True, help="an empty or new folder")
        parser.add_argument("--credential", help="an iOS signing credential of the app (team and profile name)")

    def handle(self, *args: Any, **options: Any) -> None:
        app = App.objects.filter(application_id=options["app"], status=App.Status.ACTIVE).first()
        if app is None:
            raise CommandError(f"no app with applicationId {options['app']!r}")
        out = Path(options["out"])
        if out.exists() and any(out.iterdir()):
            raise CommandError(f"{out} is not empty")
        try:
            spec = self._spec(app, Path(options["profile"]), options["credential"])
        except BuildError as exc:
            raise CommandError(exc.message) from exc
        for path in project_write(spec, out):
            self.stdout.write(path)

    def _spec(self, app: App, path: Path, credential_name: str | None) -> IosProjectSpec:
        try:
            raw = json.loads(path.read_text())
            icon = (path.parent / raw["icon"]).read_bytes()
            bundle = (path.parent / raw["web_bundle"]).read_bytes() if raw.get("web_bundle") else None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CommandError(f"cannot read the profile {path}: {exc}") from exc
        team, profile_name = "", ""
        if credential_name:
            credential = SigningCredential.objects.filter(app=app, name=credential_name, kind="ios").first()
            if credential is None:
                raise CommandError(f"no iOS signing credential {credential_name!r} in this app")
            team, profile_name = credential.summary.get("team_id", ""), credential.summary.get("profile_name", "")
            pattern = credential.summary.get("app_id_pattern", "")
            if not bundle_id_matches(pattern, team, str(raw.get("bundle_id", ""))):
                raise CommandError(f"the provisioning profile of {credential_name!r} is for {pattern!r}, "
                                   f"not the bundle id {raw.get('bundle_id')!r}")  # fmt: skip
        key = AppKey.objects.filter(app=app, kind=AppKey.Kind.CLIENT).first()
        return IosProjectSpec(
            bundle_id=bundle_id_checked(raw.get("bundle_id")), display_name=str(raw.get("label", ""))[:50],
            version=str(raw.get("version_name", "1.0")), build_number=int(raw.get("version_code", 1)),
            icon_png=icon_checked(icon, max_bytes=ICON_MAX_BYTES),
            start_url=start_url_checked(raw.get("start_url"), schemes=settings.HANGAR_BUILDS_START_URL_SCHEMES),
            web_bundle=web_bundle_checked(bundle, max_bytes=settings.HANGAR_BUILDS_MAX_BUNDLE_BYTES) if bundle else {},
            connection=HangarConnection(f"{settings.HANGAR_PUBLIC_URL}{settings.HANGAR_PARSE_MOUNT}",
                                        app.application_id, decrypt_secret(key.ciphertext) if key else ""),
            team_id=team, provisioning_profile=profile_name,
        )  # fmt: skip
