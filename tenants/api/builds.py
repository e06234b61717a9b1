"""Native builds: signing credentials (write-only), build profiles, builds with their steps, logs and artifacts."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from hangar.builds import artifacts, selectors
from hangar.builds.android.toolchain import SigningMaterial
from hangar.builds.ios.credentials import IosSigningMaterial
from hangar.builds.models import Build, BuildProfile, SigningCredential
from tenants.api.base import OrganizationScopedApi, decoded, developer_of
from tenants.errors import NotFoundError, ValidationFailedError
from tenants.models import App
from tenants.roles import Permission
from tenants.services import builds as service

TAGS = ["builds"]
UPLOAD_MAX_BYTES = 1024 * 1024  # a keystore or an icon


class SigningCredentialSerializer(serializers.ModelSerializer[SigningCredential]):
    """What is shown of a credential: never the keystore or a password."""

    class Meta:
        model = SigningCredential
        fields = ["name", "platform", "kind", "alias", "certificate_sha256", "certificate_subject", "summary",
                  "kek_id", "created_at", "rotated_at", "last_used_at"]  # fmt: skip
        read_only_fields = fields


class SigningCredentialInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=["pkcs12", "jks", "ios"])
    alias = serializers.CharField(max_length=100, required=False, default="", help_text="The key's alias (Android).")
    keystore = serializers.FileField(required=False, help_text="Android: the keystore file (multipart).")
    certificate = serializers.FileField(required=False, help_text="iOS: the distribution certificate (.p12).")
    provisioning_profile = serializers.FileField(required=False, help_text="iOS: its .mobileprovision.")
    store_password = serializers.CharField(
        max_length=1024, trim_whitespace=False, write_only=True, help_text="The keystore's, or the .p12's, password."
    )
    key_password = serializers.CharField(
        max_length=1024, trim_whitespace=False, required=False, write_only=True, help_text="Default: store_password."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        needed = ("certificate", "provisioning_profile") if attrs["kind"] == "ios" else ("keystore", "alias")
        missing = [name for name in needed if not attrs.get(name)]
        if missing:
            raise serializers.ValidationError({missing[0]: f"A {attrs['kind']} credential needs {missing[0]}."})
        return attrs


class BuildProfileSerializer(serializers.ModelSerializer[BuildProfile]):
    credential = serializers.CharField(source="credential.name", default="", read_only=True)
    has_web_bundle = serializers.SerializerMethodField()

    class Meta:
        model = BuildProfile
        fields = ["name", "platform", "package_name", "label", "version_code", "version_name", "start_url",
                  "artifact_format", "credential", "has_web_bundle", "updated_at"]  # fmt: skip
        read_only_fields = fields

    def get_has_web_bundle(self, profile: BuildProfile) -> bool:
        return bool(profile.web_bundle)


class BuildProfileInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, default="default")
    platform = serializers.CharField(max_length=10, default="android")
    package_name = serializers.CharField(max_length=200)
    label = serializers.CharField(max_length=200, trim_whitespace=False)  # type: ignore[assignment]
    version_code = serializers.IntegerField()
    version_name = serializers.CharField(max_length=200)
    start_url = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    credential = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    artifact_format = serializers.CharField(
        max_length=10, required=False, default="apk", help_text="apk (installable) or aab (an App Bundle for Play)"
    )
    icon = serializers.FileField(help_text="The launcher icon: one PNG, resized per density.")
    web_bundle = serializers.FileField(required=False, help_text="A zip with index.html at its root.")


class BuildStartInputSerializer(serializers.Serializer):
    profile = serializers.CharField(max_length=100, default="default")
    platform = serializers.CharField(max_length=10, default="android", help_text="android (iOS needs a macOS agent)")


class BuildSerializer(serializers.ModelSerializer[Build]):
    credential = serializers.CharField(source="credential.name", default="", read_only=True)
    steps = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()
    install_url = serializers.SerializerMethodField()

    class Meta:
        model = Build
        fields = ["number", "uid", "platform", "state", "spec", "credential", "attempt", "agent", "requested_at",
                  "started_at", "finished_at", "timeout_seconds", "error_code", "error_message", "artifact_size",
                  "artifact_sha256", "signer_sha256", "report", "expires_at", "steps", "download_url",
                  "install_url"]  # fmt: skip
        read_only_fields = fields

    def get_steps(self, build: Build) -> list[dict[str, Any]]:
        return [
            {"name": s.name, "attempt": s.attempt, "state": s.state, "detail": s.detail,
             "started_at": s.started_at, "finished_at": s.finished_at}
            for s in selectors.build_steps(build=build)
        ]  # fmt: skip

    def _link(self, build: Build, name: str) -> str | None:
        if build.state != Build.State.SUCCEEDED or not build.artifact_key:
            return None
        path = reverse(name, kwargs={"token": artifacts.download_token(build)})
        return f"{settings.HANGAR_PUBLIC_URL}{path}"

    def get_download_url(self, build: Build) -> str | None:
        return self._link(build, "builds:artifact-download")

    def get_install_url(self, build: Build) -> str | None:
        return self._link(build, "builds:artifact-install")


def _viewed_app(api: OrganizationScopedApi, request: Request, app_id: int) -> App:
    return service.builds_app_for(
        actor=developer_of(request), organization=api.organization, app_pk=app_id, permission=Permission.VIEW_BUILDS
    )


def _upload(data: dict[str, Any], name: str) -> bytes | None:
    upload = data.get(name)
    if upload is None:
        return None
    limit = settings.HANGAR_BUILDS_MAX_BUNDLE_BYTES if name == "web_bundle" else UPLOAD_MAX_BYTES
    if upload.size > limit:  # refused before it is read
        raise ValidationFailedError(f"{name} is larger than {limit} bytes.", field=name)
    return bytes(upload.read())


class SigningCredentialListApi(OrganizationScopedApi):
    @extend_schema(tags=TAGS, responses=SigningCredentialSerializer(many=True), summary="The app's signing credentials")
    def get(self, request: Request, org_id: int, app_id: int) -> Response:
        app = service.builds_app_for(
            actor=developer_of(request),
            organization=self.organization,
            app_pk=app_id,
            permission=Permission.VIEW_BUILDS,
        )
        return Response(SigningCredentialSerializer(selectors.credential_list(app=app), many=True).data)

    @extend_schema(
        tags=TAGS, request=SigningCredentialInputSerializer,
        responses={201: SigningCredentialSerializer, 400: OpenApiResponse(description="signing_failed")},
        summary="Upload (or rotate, under the same name) a keystore (admin); sealed in the vault, never readable",
    )  # fmt: skip
    def post(self, request: Request, org_id: int, app_id: int) -> Response:
        data = decoded(SigningCredentialInputSerializer, request.data)
        material: SigningMaterial | IosSigningMaterial
        if data["kind"] == "ios":
            material = IosSigningMaterial(
                certificate_p12=_upload(data, "certificate") or b"", password=data["store_password"],
                provisioning_profile=_upload(data, "provisioning_profile") or b"",
            )  # fmt: skip
        else:
            material = SigningMaterial(
                keystore=_upload(data, "keystore") or b"", keystore_type=data["kind"], alias=data["alias"],
                store_password=data["store_password"], key_password=data.get("key_password") or data["store_password"],
            )  # fmt: skip
        credential = service.signing_credential_upload(
            actor=developer_of(request), organization=self.organization, app_pk=app_id, name=data["name"],
            material=material,
        )  # fmt: skip
        return Response(SigningCredentialSerializer(credential).data, status=status.HTTP_201_CREATED)


class SigningCredentialDetailApi(OrganizationScopedApi):
    @extend_schema(tags=TAGS, responses={204: None}, summary="Delete a signing credential (admin)")
    def delete(self, request: Request, org_id: int, app_id: int, name: str) -> Response:
        service.signing_credential_delete(
            actor=developer_of(request), organization=self.organization, app_pk=app_id, name=name
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class BuildProfileListApi(OrganizationScopedApi):
    @extend_schema(tags=TAGS, responses=BuildProfileSerializer(many=True), summary="The app's build profiles")
    def get(self, request: Request, org_id: int, app_id: int) -> Response:
        app = service.builds_app_for(
            actor=developer_of(request),
            organization=self.organization,
            app_pk=app_id,
            permission=Permission.VIEW_BUILDS,
        )
        return Response(BuildProfileSerializer(selectors.profile_list(app=app), many=True).data)

    @extend_schema(
        tags=TAGS, request=BuildProfileInputSerializer, responses={201: BuildProfileSerializer},
        summary="Create or replace a build profile (developer): package, versions, label, icon, content, credential",
    )  # fmt: skip
    def post(self, request: Request, org_id: int, app_id: int) -> Response:
        data = decoded(BuildProfileInputSerializer, request.data)
        fields = {k: data[k] for k in ("name", "platform", "package_name", "label", "version_code", "version_name",
                                       "start_url", "credential", "artifact_format")}  # fmt: skip
        profile = service.build_profile_save(
            actor=developer_of(request), organization=self.organization, app_pk=app_id, fields=fields,
            icon_png=_upload(data, "icon") or b"", web_bundle=_upload(data, "web_bundle"),
        )  # fmt: skip
        return Response(BuildProfileSerializer(profile).data, status=status.HTTP_201_CREATED)


class BuildListApi(OrganizationScopedApi):
    @extend_schema(tags=TAGS, responses=BuildSerializer(many=True), summary="The app's builds, newest first")
    def get(self, request: Request, org_id: int, app_id: int) -> Response:
        app = service.builds_app_for(
            actor=developer_of(request),
            organization=self.organization,
            app_pk=app_id,
            permission=Permission.VIEW_BUILDS,
        )
        return Response(BuildSerializer(selectors.build_list(app=app), many=True).data)

    @extend_schema(
        tags=TAGS, request=BuildStartInputSerializer, responses={202: BuildSerializer},
        summary="Start a build of a profile (developer): queued, then run by an agent",
    )  # fmt: skip
    def post(self, request: Request, org_id: int, app_id: int) -> Response:
        data = decoded(BuildStartInputSerializer, request.data)
        build = service.build_start(
            actor=developer_of(request), organization=self.organization, app_pk=app_id,
            profile_name=data["profile"], platform=data["platform"],
        )  # fmt: skip
        build.refresh_from_db()
        return Response(BuildSerializer(build).data, status=status.HTTP_202_ACCEPTED)


def _build_of(api: OrganizationScopedApi, request: Request, app_id: int, number: int) -> Build:
    app = _viewed_app(api, request, app_id)
    build = selectors.build_get(app=app, number=number)
    if build is None:
        raise NotFoundError("Build not found.")
    return build


class BuildDetailApi(OrganizationScopedApi):
    @extend_schema(tags=TAGS, responses=BuildSerializer, summary="One build: state, steps, test report, links")
    def get(self, request: Request, org_id: int, app_id: int, number: int) -> Response:
        return Response(BuildSerializer(_build_of(self, request, app_id, number)).data)


class BuildCancelApi(OrganizationScopedApi):
    @extend_schema(tags=TAGS, request=None, responses=BuildSerializer, summary="Cancel a build in any state")
    def post(self, request: Request, org_id: int, app_id: int, number: int) -> Response:
        build = service.build_cancel(
            actor=developer_of(request), organization=self.organization, app_pk=app_id, number=number
        )
        return Response(BuildSerializer(build).data)


class BuildLogLineSerializer(serializers.Serializer):
    seq = serializers.IntegerField()
    step = serializers.CharField()
    text = serializers.CharField()
    at = serializers.DateTimeField()


class BuildLogPageSerializer(serializers.Serializer):
    state = serializers.CharField()
    lines = BuildLogLineSerializer(many=True)
    cursor = serializers.IntegerField(help_text="Pass it as ?after= to get the next lines.")


class BuildLogApi(OrganizationScopedApi):
    @extend_schema(
        tags=TAGS, responses=BuildLogPageSerializer, parameters=[OpenApiParameter("after", int, required=False)],
        summary="The build's log lines after ?after=<seq> (poll it for a live tail)",
    )  # fmt: skip
    def get(self, request: Request, org_id: int, app_id: int, number: int) -> Response:
        build = _build_of(self, request, app_id, number)
        try:
            after = max(0, int(request.query_params.get("after", "0")))
        except ValueError as exc:
            raise ValidationFailedError("after must be an integer.", field="after") from exc
        lines = selectors.build_log(build=build, after=after)
        return Response({
            "state": build.state,
            "lines": [{"seq": line.seq, "step": line.step, "text": line.text, "at": line.at} for line in lines],
            "cursor": lines[-1].seq if lines else after,
        })  # fmt: skip
