"""Build profiles: saved after every rule of hangar.builds.android.spec has passed."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone

from hangar.builds.android import spec as rules
from hangar.builds.errors import BuildSpecError
from hangar.builds.models import BuildProfile, SigningCredential
from tenants.models import App

ICON_MAX_BYTES = 1024 * 1024
PROFILE_FIELDS = (
    "package_name", "label", "version_code", "version_name", "start_url", "credential", "artifact_format",
)  # fmt: skip


def profile_fields_checked(data: dict[str, Any]) -> dict[str, Any]:
    """The profile's scalar fields from a JSON object (the API's body, the command's profile.json)."""
    if not isinstance(data, dict):
        raise BuildSpecError("The profile must be a JSON object.")
    unknown = sorted(set(data) - {"name", "platform", *PROFILE_FIELDS})
    if unknown:
        raise BuildSpecError(f"Unknown profile fields: {', '.join(unknown)}.", field=unknown[0])
    platform = data.get("platform", "android")
    if platform != "android":
        raise BuildSpecError("Only the android platform builds here (iOS needs a macOS agent).", field="platform")
    return {
        "name": rules.text_checked(data.get("name", "default"), name="name", limit=100),
        "platform": platform,
        "package_name": rules.package_name_checked(data.get("package_name")),
        "label": rules.text_checked(data.get("label"), name="label", limit=rules.LABEL_MAX),
        "version_code": rules.version_code_checked(data.get("version_code")),
        "version_name": rules.text_checked(data.get("version_name"), name="version_name", limit=rules.VERSION_NAME_MAX),
        "start_url": rules.start_url_checked(data.get("start_url"), schemes=settings.HANGAR_BUILDS_START_URL_SCHEMES),
        "credential": data.get("credential") or "",
        "artifact_format": rules.artifact_format_checked(data.get("artifact_format")),
    }


def profile_save(*, app: App, fields: dict[str, Any], icon_png: bytes, web_bundle: bytes | None) -> BuildProfile:
    """Create or replace the app's profile of that name; the icon and bundle are checked before saving."""
    rules.icon_checked(icon_png, max_bytes=ICON_MAX_BYTES)
    if web_bundle is not None:
        rules.web_bundle_checked(web_bundle, max_bytes=settings.HANGAR_BUILDS_MAX_BUNDLE_BYTES)
    elif not fields["start_url"]:
        raise BuildSpecError("A profile needs a web_bundle or a start_url.", field="web_bundle")
    credential = None
    if fields["credential"]:
        # Looked up in this app only: another app's credential is as unknown as a missing one.
        credential = SigningCredential.objects.filter(app=app, name=fields["credential"]).first()
        if credential is None:
            raise BuildSpecError(f"No signing credential {fields['credential']!r} in this app.", field="credential")
        if credential.platform != fields["platform"]:
            raise BuildSpecError(f"The credential {credential.name!r} does not sign {fields['platform']} apps.",
                                 field="credential")  # fmt: skip
    profile, _ = BuildProfile.objects.update_or_create(
        app=app, platform=fields["platform"], name=fields["name"],
        defaults={
            "package_name": fields["package_name"], "label": fields["label"],
            "version_code": fields["version_code"], "version_name": fields["version_name"],
            "start_url": fields["start_url"], "artifact_format": fields["artifact_format"],
            "icon_png": icon_png, "web_bundle": web_bundle,
            "credential": credential, "updated_at": timezone.now(),
        },
    )  # fmt: skip
    return profile
