"""The management API of an app's SDKs: what is offered (versions, install lines, changelog) and downloads."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from sdk_gen.services import SdkBuilding, SdkOverview, sdk_download_get, sdk_overview
from tenants import selectors
from tenants.api.base import OrganizationScopedApi, developer_of

TAGS = ["sdks"]


class SdkLanguageSerializer(serializers.Serializer):
    language = serializers.CharField()
    display_name = serializers.CharField(source="label")
    filename = serializers.CharField(help_text="The download's file name (built on first download, then cached).")
    install = serializers.CharField(help_text="What a developer runs after downloading.")
    status = serializers.CharField(
        help_text="ready (stored), building (TypeScript and Java are compiled by a background task), failed "
        "(the last build failed; retried a minute later), or on request (generated when downloaded)."
    )


class SdkChangeSerializer(serializers.Serializer):
    version = serializers.CharField()
    schema_hash = serializers.CharField()
    created_at = serializers.CharField()
    changes = serializers.ListField(child=serializers.CharField())


class SdkOverviewSerializer(serializers.Serializer):
    version = serializers.CharField(help_text="1.<n>.0: n counts the app's distinct schemas SDKs were made for.")
    schema_hash = serializers.CharField(help_text="SHA-256 of the classes, fields and typed functions.")
    server_url = serializers.CharField()
    application_id = serializers.CharField()
    languages = SdkLanguageSerializer(many=True)
    changelog = SdkChangeSerializer(many=True)


def _overview_data(overview: SdkOverview) -> dict[str, object]:
    return SdkOverviewSerializer(overview).data  # type: ignore[return-value]


class SdkOverviewApi(OrganizationScopedApi):
    @extend_schema(
        tags=TAGS, responses=SdkOverviewSerializer, summary="The app's SDKs: version, languages, changelog",
        operation_id="organizations_apps_sdks_overview",
    )  # fmt: skip
    def get(self, request: Request, org_id: int, app_id: int) -> Response:
        app = selectors.app_get(developer=developer_of(request), organization=self.organization, app_pk=app_id)
        return Response(_overview_data(sdk_overview(app=app)))


class SdkBuildingSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="building, or failed (its error says why; retried after retryAfter).")
    language = serializers.CharField()
    version = serializers.CharField()
    schema_hash = serializers.CharField()
    retry_after = serializers.IntegerField(help_text="Seconds to wait before asking again (also Retry-After).")
    error = serializers.CharField(allow_blank=True)


def _building_response(building: SdkBuilding) -> Response:
    # 202 while the task runs; 503 after a failure (the server's fault; the build is retried later).
    status = 503 if building.error else 202
    response = Response(SdkBuildingSerializer(building).data, status=status)
    response["Retry-After"] = str(building.retry_after)
    return response


class SdkDownloadApi(OrganizationScopedApi):
    @extend_schema(
        operation_id="organizations_apps_sdks_download",
        tags=TAGS,
        responses={
            200: OpenApiResponse(OpenApiTypes.BINARY, description="wheel, npm tarball, jar or OpenAPI JSON"),
            202: OpenApiResponse(SdkBuildingSerializer, description="being compiled: ask again after Retry-After"),
            503: OpenApiResponse(SdkBuildingSerializer, description="the last build failed; retried after Retry-After"),
        },
        summary="Download the SDK of one language (python, typescript, java) or the OpenAPI document (openapi)",
    )
    def get(self, request: Request, org_id: int, app_id: int, language: str) -> HttpResponse:
        app = selectors.app_get(developer=developer_of(request), organization=self.organization, app_pk=app_id)
        package = sdk_download_get(app=app, language=language)
        if isinstance(package, SdkBuilding):
            return _building_response(package)
        response = HttpResponse(bytes(package.content), content_type=package.content_type)
        response["Content-Disposition"] = f'attachment; filename="{package.filename}"'
        response["X-Hangar-Schema-Hash"] = package.snapshot.schema_hash
        return response
