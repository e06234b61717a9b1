"""``manage.py build_request --app <applicationId> --platform android --profile <profile.json>
[--keystore <file> --alias A --storepass-file F --keypass-file F] --wait --json``.

The operator's way to build from a shell: the profile JSON holds the profile's fields, with
``icon`` and ``web_bundle`` as paths (relative to the JSON file); a keystore given here is
sealed in the vault under the profile's ``credential`` name (default ``operator``) first.
Passwords are read from files, never from argv. With --wait it prints the final state, the
artifact's path (local storage) or signed URL, and the signer's SHA-256; it exits non-zero
unless the build succeeded.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from hangar.builds import artifacts, credentials, profiles, queue
from hangar.builds.android.toolchain import SigningMaterial
from hangar.builds.errors import BuildError
from hangar.builds.models import Build, BuildProfile
from tenants.audit import audit_record
from tenants.models import App

WAIT_POLL_SECONDS = 0.2


class Command(BaseCommand):
    help = "Queue a native build of an app from a profile JSON file (and optionally a keystore), and wait for it."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--app", required=True, help="the app's applicationId")
        parser.add_argument("--platform", default="android", choices=["android"])
        parser.add_argument("--profile", required=True, help="the profile JSON file")
        parser.add_argument("--keystore", help="a PKCS12 or JKS keystore to seal in the vault for this build")
        parser.add_argument("--keystore-type", choices=["pkcs12", "jks"], help="default: from the file name")
        parser.add_argument("--alias", help="the key's alias in the keystore")
        parser.add_argument("--storepass-file", help="a file holding the keystore's password")
        parser.add_argument("--keypass-file", help="a file holding the key's password (default: the store's)")
        parser.add_argument("--wait", action="store_true", help="wait for the build to end")
        parser.add_argument("--timeout", type=float, help="seconds to wait (default: the build's limit + 60)")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        app = (
            App.objects.select_related("organization__plan")
            .filter(application_id=options["app"], status=App.Status.ACTIVE)
            .first()
        )
        if app is None:
            raise CommandError(f"no app with applicationId {options['app']!r}")
        try:
            profile = self._profile(app, options)
            build = queue.build_request(app=app, profile=profile)
        except BuildError as exc:
            self._fail(options, {"state": "rejected", "error_code": exc.code, "error": exc.message, "field": exc.field})
        audit_record(
            actor=None, organization=app.organization, action="builds.start", target_type="app",
            target_id=app.application_id, target_name=app.name,
            details={"build": build.number, "profile": profile.name, "via": "manage.py build_request"},
        )  # fmt: skip
        if options["wait"]:
            build = self._wait(build, options["timeout"] or build.timeout_seconds + 60)
        else:
            build.refresh_from_db()  # a worker may have taken it already
        result = self._result(build)
        self.stdout.write(json.dumps(result) if options["json"] else self._text(result))
        if options["wait"] and build.state != Build.State.SUCCEEDED:
            raise CommandError(f"build {build.number} ended {build.state}: {build.error_message}")

    def _profile(self, app: App, options: dict[str, Any]) -> BuildProfile:
        path = Path(options["profile"])
        try:
            raw = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise CommandError(f"cannot read the profile {path}: {exc}") from exc
        if not isinstance(raw, dict):
            raise CommandError("the profile must be a JSON object")
        icon = _read(path.parent, raw.pop("icon", None), "icon")
        bundle_path = raw.pop("web_bundle", None)
        bundle = _read(path.parent, bundle_path, "web_bundle") if bundle_path else None
        raw.setdefault("platform", options["platform"])
        if options["keystore"]:
            raw["credential"] = raw.get("credential") or "operator"
            credentials.credential_store(app=app, name=raw["credential"], material=self._material(options))
        fields = profiles.profile_fields_checked(raw)
        return profiles.profile_save(app=app, fields=fields, icon_png=icon, web_bundle=bundle)

    def _material(self, options: dict[str, Any]) -> SigningMaterial:
        keystore = Path(options["keystore"])
        if not options["alias"] or not options["storepass_file"]:
            raise CommandError("--keystore needs --alias and --storepass-file")
        store_password = _secret_file(options["storepass_file"])
        key_password = _secret_file(options["keypass_file"]) if options["keypass_file"] else store_password
        kind = options["keystore_type"] or ("jks" if keystore.suffix.lower() in (".jks", ".keystore") else "pkcs12")
        try:
            data = keystore.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read the keystore: {exc}") from exc
        return SigningMaterial(
            keystore=data, keystore_type=kind, alias=options["alias"],
            store_password=store_password, key_password=key_password,
        )  # fmt: skip

    def _wait(self, build: Build, timeout: float) -> Build:
        deadline = time.monotonic() + timeout
        while True:
            build.refresh_from_db()
            if build.is_final:
                return build
            if time.monotonic() >= deadline:
                raise CommandError(f"build {build.number} is still {build.state} after {timeout:.0f} s")
            time.sleep(WAIT_POLL_SECONDS)

    def _result(self, build: Build) -> dict[str, Any]:
        url = path = None
        if build.state == Build.State.SUCCEEDED and build.artifact_key:
            link = reverse("builds:artifact-download", kwargs={"token": artifacts.download_token(build)})
            url = f"{settings.HANGAR_PUBLIC_URL}{link}"
            if build.artifact_backend == "local":
                path = str(Path(settings.HANGAR_FILES_DIR) / build.artifact_key)
        return {
            "app": build.app.application_id, "build": build.number, "uid": build.uid, "state": build.state,
            "artifact_path": path, "artifact_url": url, "artifact_sha256": build.artifact_sha256 or None,
            "signer_sha256": build.signer_sha256 or None, "error_code": build.error_code or None,
            "error": build.error_message or None,
        }  # fmt: skip

    def _text(self, result: dict[str, Any]) -> str:
        lines = [f"build {result['build']} of {result['app']}: {result['state']}"]
        for name in ("artifact_path", "artifact_url", "signer_sha256", "error"):
            if result[name]:
                lines.append(f"{name}: {result[name]}")
        return "\n".join(lines)

    def _fail(self, options: dict[str, Any], error: dict[str, Any]) -> None:
        if options["json"]:
            self.stdout.write(json.dumps(error))
        raise CommandError(error["error"])


def _read(folder: Path, name: object, what: str) -> bytes:
    if not isinstance(name, str) or not name:
        raise BuildError(f"the profile's {what} must be a file path.", field=what)
    try:
        return (folder / name).read_bytes()
    except OSError as exc:
        raise BuildError(f"cannot read {what} {name!r}: {exc.strerror}.", field=what) from exc


def _secret_file(name: str) -> str:
    try:
        return Path(name).read_text().rstrip("\r\n")
    except OSError as exc:
        raise CommandError(f"cannot read {name}: {exc.strerror}") from exc
