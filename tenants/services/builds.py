"""Native builds from the control plane: profiles, signing credentials, starting and cancelling builds.

The work is hangar.builds'; this layer checks the developer's role on the app, turns the
pipeline's errors into the management API's and records audit events. Audit details name a
credential and its certificate's SHA-256, never a password or the keystore.
"""

from __future__ import annotations

from typing import Any

from hangar.builds import credentials, profiles, queue
from hangar.builds.android.toolchain import SigningMaterial
from hangar.builds.errors import BuildError
from hangar.builds.ios.credentials import IosSigningMaterial
from hangar.builds.models import Build, BuildProfile, SigningCredential
from tenants.audit import audit_record
from tenants.errors import BuildRejectedError, NotFoundError
from tenants.models import App, Developer, Organization
from tenants.roles import Permission
from tenants.services.access import membership_require


def builds_app_for(*, actor: Developer, organization: Organization, app_pk: int, permission: Permission) -> App:
    """The organization's active app ``app_pk`` if the actor's role allows ``permission``; else NotFound/Denied."""
    membership_require(actor=actor, organization=organization, permission=permission)
    app = organization.apps.select_related("organization__plan").filter(pk=app_pk, status=App.Status.ACTIVE).first()
    if app is None:
        raise NotFoundError("App not found.")
    return app


def _rejected(exc: BuildError) -> BuildRejectedError:
    return BuildRejectedError(exc.message, code=exc.code, field=exc.field)


def signing_credential_upload(
    *, actor: Developer, organization: Organization, app_pk: int, name: str,
    material: SigningMaterial | IosSigningMaterial,
) -> SigningCredential:  # fmt: skip
    app = builds_app_for(actor=actor, organization=organization, app_pk=app_pk, permission=Permission.MANAGE_SIGNING)
    try:
        credential = credentials.credential_store(app=app, name=name, material=material, actor=actor)
    except BuildError as exc:
        raise _rejected(exc) from exc
    audit_record(
        actor=actor, organization=organization, action="builds.credential_store", target_type="app",
        target_id=app.application_id, target_name=app.name,
        details={
            "credential": credential.name, "kind": credential.kind, "certificate_sha256": credential.certificate_sha256
        },
    )  # fmt: skip
    return credential


def signing_credential_delete(*, actor: Developer, organization: Organization, app_pk: int, name: str) -> None:
    app = builds_app_for(actor=actor, organization=organization, app_pk=app_pk, permission=Permission.MANAGE_SIGNING)
    credential = SigningCredential.objects.filter(app=app, name=name).first()
    if credential is None:
        raise NotFoundError("Signing credential not found.")
    BuildProfile.objects.filter(credential=credential).update(credential=None)
    credential.delete()
    audit_record(
        actor=actor, organization=organization, action="builds.credential_delete", target_type="app",
        target_id=app.application_id, target_name=app.name, details={"credential": name},
    )  # fmt: skip


def build_profile_save(
    *, actor: Developer, organization: Organization, app_pk: int, fields: dict[str, Any],
    icon_png: bytes, web_bundle: bytes | None,
) -> BuildProfile:  # fmt: skip
    app = builds_app_for(actor=actor, organization=organization, app_pk=app_pk, permission=Permission.RUN_BUILDS)
    try:
        checked = profiles.profile_fields_checked(fields)
        return profiles.profile_save(app=app, fields=checked, icon_png=icon_png, web_bundle=web_bundle)
    except BuildError as exc:
        raise _rejected(exc) from exc


def build_start(
    *, actor: Developer, organization: Organization, app_pk: int, profile_name: str, platform: str = "android"
) -> Build:
    app = builds_app_for(actor=actor, organization=organization, app_pk=app_pk, permission=Permission.RUN_BUILDS)
    profile = (
        BuildProfile.objects.select_related("credential").filter(app=app, platform=platform, name=profile_name).first()
    )
    if profile is None:
        raise NotFoundError("Build profile not found.")
    try:
        build = queue.build_request(app=app, profile=profile, actor=actor)
    except BuildError as exc:
        raise _rejected(exc) from exc
    audit_record(
        actor=actor, organization=organization, action="builds.start", target_type="app",
        target_id=app.application_id, target_name=app.name,
        details={"build": build.number, "profile": profile.name, "credential": build.credential_name},
    )  # fmt: skip
    return build


def build_cancel(*, actor: Developer, organization: Organization, app_pk: int, number: int) -> Build:
    app = builds_app_for(actor=actor, organization=organization, app_pk=app_pk, permission=Permission.RUN_BUILDS)
    uid = Build.objects.filter(app=app, number=number).values_list("uid", flat=True).first()
    if uid is None:
        raise NotFoundError("Build not found.")
    build = queue.build_cancel(app=app, uid=uid)
    audit_record(
        actor=actor, organization=organization, action="builds.cancel", target_type="app",
        target_id=app.application_id, target_name=app.name, details={"build": number},
    )  # fmt: skip
    return build
