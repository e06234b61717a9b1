"""An app's native builds: signing credentials, build profiles, starting a build, history, one build's live log.

Plain forms work without JavaScript; htmx polls a running build's status and log fragment.
The services are the management API's (tenants.services.builds): same role checks, same audit.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from dashboard.access import DeveloperRequest, app_view, capabilities
from hangar.builds import artifacts, log_stream, selectors
from hangar.builds.android.toolchain import SigningMaterial
from hangar.builds.ios.credentials import IosSigningMaterial
from hangar.builds.models import Build
from tenants.errors import NotFoundError, PermissionDeniedError, TenantsError
from tenants.roles import Permission
from tenants.selectors import AppAccess
from tenants.services import builds as service

UPLOAD_MAX_BYTES = 1024 * 1024
POLL_SECONDS = 1


def _context(access: AppAccess, **extra: Any) -> dict[str, Any]:
    return {"access": access, "app": access.app, "can": capabilities(access.role), "tab": "builds", **extra}


def _back(access: AppAccess) -> HttpResponse:
    return redirect("dashboard:builds", organization_id=access.organization.pk, app_id=access.app.pk)


def _file(request: DeveloperRequest, name: str, limit: int) -> bytes | None:
    upload = request.FILES.get(name)
    if upload is None:
        return None
    if upload.size is not None and upload.size > limit:
        raise TenantsError(f"{name} is larger than {limit} bytes.")
    return bytes(upload.read())


@require_GET
@app_view(requires=Permission.VIEW_BUILDS)
def builds_page(request: DeveloperRequest, access: AppAccess) -> HttpResponse:
    app = access.app
    context = _context(
        access, credentials=selectors.credential_list(app=app), profiles=selectors.profile_list(app=app),
        builds=selectors.build_list(app=app, limit=30),
    )  # fmt: skip
    return render(request, "dashboard/apps/builds.html", context)


@require_POST
@app_view(requires=Permission.MANAGE_SIGNING)
def builds_credential_upload(request: DeveloperRequest, access: AppAccess) -> HttpResponse:
    post = request.POST
    try:
        material = _signing_material(request)
        credential = service.signing_credential_upload(
            actor=request.user, organization=access.organization, app_pk=access.app.pk,
            name=str(post.get("name", "")), material=material,
        )  # fmt: skip
    except (NotFoundError, PermissionDeniedError):
        raise
    except TenantsError as exc:
        messages.error(request, f"Credential refused: {exc.message}")
    else:
        messages.success(request, f"Stored {credential.name} (certificate SHA-256 {credential.certificate_sha256}).")
    return _back(access)


def _signing_material(request: DeveloperRequest) -> SigningMaterial | IosSigningMaterial:
    post = request.POST
    store_password = str(post.get("store_password", ""))
    if post.get("kind") == "ios":
        certificate = _file(request, "certificate", UPLOAD_MAX_BYTES)
        profile = _file(request, "provisioning_profile", UPLOAD_MAX_BYTES)
        if certificate is None or profile is None:
            raise TenantsError("Choose the .p12 certificate and its provisioning profile.")
        return IosSigningMaterial(certificate_p12=certificate, password=store_password, provisioning_profile=profile)
    keystore = _file(request, "keystore", UPLOAD_MAX_BYTES)
    if keystore is None:
        raise TenantsError("Choose a keystore file.")
    return SigningMaterial(
        keystore=keystore, keystore_type=str(post.get("kind", "pkcs12")), alias=str(post.get("alias", "")),
        store_password=store_password, key_password=str(post.get("key_password", "")) or store_password,
    )  # fmt: skip


@require_POST
@app_view(requires=Permission.MANAGE_SIGNING)
def builds_credential_delete(request: DeveloperRequest, access: AppAccess, name: str) -> HttpResponse:
    service.signing_credential_delete(actor=request.user, organization=access.organization, app_pk=access.app.pk,
                                      name=name)  # fmt: skip
    messages.success(request, f"Deleted the signing credential {name}.")
    return _back(access)


@require_POST
@app_view(requires=Permission.RUN_BUILDS)
def builds_profile_save(request: DeveloperRequest, access: AppAccess) -> HttpResponse:
    post = request.POST
    try:
        icon = _file(request, "icon", UPLOAD_MAX_BYTES)
        if icon is None:
            raise TenantsError("Choose a PNG launcher icon.")
        try:
            version_code: object = int(str(post.get("version_code", "")))
        except ValueError:
            version_code = None
        fields = {
            "name": str(post.get("name", "default")) or "default", "platform": "android",
            "package_name": str(post.get("package_name", "")), "label": str(post.get("label", "")),
            "version_code": version_code, "version_name": str(post.get("version_name", "")),
            "start_url": str(post.get("start_url", "")), "credential": str(post.get("credential", "")),
            "artifact_format": str(post.get("artifact_format", "apk")),
        }  # fmt: skip
        profile = service.build_profile_save(
            actor=request.user, organization=access.organization, app_pk=access.app.pk, fields=fields,
            icon_png=icon, web_bundle=_file(request, "web_bundle", settings.HANGAR_BUILDS_MAX_BUNDLE_BYTES),
        )  # fmt: skip
    except (NotFoundError, PermissionDeniedError):
        raise
    except TenantsError as exc:
        messages.error(request, f"Profile refused: {exc.message}")
    else:
        messages.success(request, f"Saved the profile {profile.name}.")
    return _back(access)


@require_POST
@app_view(requires=Permission.RUN_BUILDS)
def builds_start(request: DeveloperRequest, access: AppAccess) -> HttpResponse:
    try:
        build = service.build_start(
            actor=request.user, organization=access.organization, app_pk=access.app.pk,
            profile_name=str(request.POST.get("profile", "default")),
        )  # fmt: skip
    except PermissionDeniedError:
        raise
    except TenantsError as exc:
        messages.error(request, f"Build refused: {exc.message}")
        return _back(access)
    return redirect("dashboard:build_detail", organization_id=access.organization.pk, app_id=access.app.pk,
                    number=build.number)  # fmt: skip


@require_POST
@app_view(requires=Permission.RUN_BUILDS)
def builds_cancel(request: DeveloperRequest, access: AppAccess, number: int) -> HttpResponse:
    build = service.build_cancel(actor=request.user, organization=access.organization, app_pk=access.app.pk,
                                 number=number)  # fmt: skip
    messages.success(request, f"Build {number}: {'cancel requested' if build.state == 'running' else build.state}.")
    return redirect("dashboard:build_detail", organization_id=access.organization.pk, app_id=access.app.pk,
                    number=number)  # fmt: skip


@require_GET
@app_view(requires=Permission.VIEW_BUILDS)
def build_detail(request: DeveloperRequest, access: AppAccess, number: int) -> HttpResponse:
    build = selectors.build_get(app=access.app, number=number)
    if build is None:
        raise NotFoundError("Build not found.")
    lines = selectors.build_log(build=build)
    context = _context(
        access, build=build, steps=list(selectors.build_steps(build=build)), lines=lines,
        last_seq=lines[-1].seq if lines else 0, polling=not build.is_final, poll_seconds=POLL_SECONDS,
        log_stream_path=f"{log_stream.PATH_PREFIX}{log_stream.log_token(build)}", **_links(request, build),
    )  # fmt: skip
    if request.headers.get("HX-Request"):  # the polled fragment: status, steps and log
        return render(request, "dashboard/apps/_build_live.html", context)
    return render(request, "dashboard/apps/build.html", context)


def _links(request: DeveloperRequest, build: Build) -> dict[str, Any]:
    if build.state != Build.State.SUCCEEDED or not build.artifact_key:
        return {"download_url": None, "install_url": None, "qr_svg": None}
    import io

    import segno

    token = artifacts.download_token(build)
    download = request.build_absolute_uri(reverse("builds:artifact-download", kwargs={"token": token}))
    svg = io.BytesIO()
    segno.make(download, error="m").save(svg, kind="svg", scale=4, xmldecl=False, svgns=True, title="QR code")
    return {
        "download_url": download,
        "install_url": request.build_absolute_uri(reverse("builds:artifact-install", kwargs={"token": token})),
        "qr_svg": svg.getvalue().decode(),
    }
