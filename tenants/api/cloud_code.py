"""An app's cloud code: versions (upload, activate, rollback), variables, logs and running a function."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from tenants import selectors
from tenants.api.base import OrganizationScopedApi, decoded, developer_of
from tenants.errors import BundleRejectedError
from tenants.serializers import (
    CloudFunctionOutcomeSerializer,
    CloudFunctionRunInputSerializer,
    CloudLogPageSerializer,
    CloudLogQuerySerializer,
    CloudSettingsInputSerializer,
    CloudSettingsSerializer,
    CloudVariableInputSerializer,
    CloudVariableSerializer,
    CloudVersionSerializer,
    CloudVersionUploadInputSerializer,
)
from tenants.services import cloud_code

TAGS = ["cloud code"]


class CloudVersionListCreateApi(OrganizationScopedApi):
    @extend_schema(tags=TAGS, responses=CloudVersionSerializer(many=True), summary="The app's versions, newest first")
    def get(self, request: Request, org_id: int, app_id: int) -> Response:
        rows = selectors.cloud_version_list(
            developer=developer_of(request), organization=self.organization, app_pk=app_id
        )
        return Response(CloudVersionSerializer(rows, many=True).data)

    @extend_schema(
        tags=TAGS, request=CloudVersionUploadInputSerializer,
        responses={201: CloudVersionSerializer, 400: OpenApiResponse(description="invalid_bundle, with file and line")},
        summary="Upload a bundle (developer): validated in the sandbox, stored as the next version, activated",
    )  # fmt: skip
    def post(self, request: Request, org_id: int, app_id: int) -> Response:
        data = decoded(CloudVersionUploadInputSerializer, request.data)
        upload = data.get("bundle")
        if upload is not None:
            # Refused before it is read: a multipart file is spooled to disk, never held whole in memory first.
            if upload.size > settings.HANGAR_CLOUD_MAX_BUNDLE_BYTES:
                raise BundleRejectedError(f"the upload is larger than {settings.HANGAR_CLOUD_MAX_BUNDLE_BYTES} bytes")
            bundle = cloud_code.bundle_from_upload(archive=upload.read())
        else:
            bundle = cloud_code.bundle_from_upload(files=data["files"])
        version = cloud_code.cloud_version_deploy(
            actor=developer_of(request), organization=self.organization, app_pk=app_id, bundle=bundle,
            note=data["note"], activate=data["activate"],
        )  # fmt: skip
        row = next(
            r for r in selectors.cloud_version_list(
                developer=developer_of(request), organization=self.organization, app_pk=app_id
            ) if r.number == version.number
        )  # fmt: skip
        return Response(CloudVersionSerializer(row).data, status=status.HTTP_201_CREATED)


class CloudVersionActivateApi(OrganizationScopedApi):
    @extend_schema(
        tags=TAGS, request=None, responses=CloudVersionSerializer(many=True),
        summary="Run this version (developer); activating an earlier one is the rollback",
    )  # fmt: skip
    def post(self, request: Request, org_id: int, app_id: int, number: int) -> Response:
        developer = developer_of(request)
        cloud_code.cloud_version_activate(actor=developer, organization=self.organization, app_pk=app_id, number=number)
        rows = selectors.cloud_version_list(developer=developer, organization=self.organization, app_pk=app_id)
        return Response(CloudVersionSerializer(rows, many=True).data)


class CloudVariableListApi(OrganizationScopedApi):
    @extend_schema(tags=TAGS, responses=CloudVariableSerializer(many=True), summary="Variables (secrets masked)")
    def get(self, request: Request, org_id: int, app_id: int) -> Response:
        rows = selectors.cloud_variable_list(
            developer=developer_of(request), organization=self.organization, app_pk=app_id
        )
        return Response(CloudVariableSerializer(rows, many=True).data)


class CloudVariableDetailApi(OrganizationScopedApi):
    @extend_schema(
        tags=TAGS, request=CloudVariableInputSerializer, responses=CloudVariableSerializer(many=True),
        summary="Set a variable or a secret (admin); encrypted at rest, a secret is never shown again",
    )  # fmt: skip
    def put(self, request: Request, org_id: int, app_id: int, name: str) -> Response:
        data = decoded(CloudVariableInputSerializer, request.data)
        developer = developer_of(request)
        cloud_code.cloud_variable_set(
            actor=developer, organization=self.organization, app_pk=app_id, name=name,
            value=data["value"], secret=data["secret"],
        )  # fmt: skip
        rows = selectors.cloud_variable_list(developer=developer, organization=self.organization, app_pk=app_id)
        return Response(CloudVariableSerializer(rows, many=True).data)

    @extend_schema(tags=TAGS, responses={204: None}, summary="Delete a variable (admin)")
    def delete(self, request: Request, org_id: int, app_id: int, name: str) -> Response:
        cloud_code.cloud_variable_delete(
            actor=developer_of(request), organization=self.organization, app_pk=app_id, name=name
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class CloudLogListApi(OrganizationScopedApi):
    @extend_schema(
        tags=TAGS, parameters=[CloudLogQuerySerializer], responses=CloudLogPageSerializer,
        summary="Recent invocation records, newest first; poll with since=<cursor> for a live tail",
    )  # fmt: skip
    def get(self, request: Request, org_id: int, app_id: int) -> Response:
        query = decoded(CloudLogQuerySerializer, request.query_params)
        records = selectors.cloud_log_list(
            developer=developer_of(request), organization=self.organization, app_pk=app_id,
            since=query.get("since"), limit=query["limit"], level=query.get("level"),
        )  # fmt: skip
        cursor = max((float(r.get("at") or 0) for r in records), default=query.get("since"))
        return Response({"results": records, "cursor": cursor})


class CloudFunctionRunApi(OrganizationScopedApi):
    @extend_schema(
        tags=TAGS, request=CloudFunctionRunInputSerializer, responses=CloudFunctionOutcomeSerializer,
        summary="Run a function with the master key (developer): {result} or the Parse {error: {code, error}}",
    )  # fmt: skip
    def post(self, request: Request, org_id: int, app_id: int) -> Response:
        data = decoded(CloudFunctionRunInputSerializer, request.data)
        outcome = cloud_code.cloud_function_run(
            actor=developer_of(request), organization=self.organization, app_pk=app_id,
            name=data["name"], params=data["params"],
        )  # fmt: skip
        return Response(outcome)


class CloudSettingsApi(OrganizationScopedApi):
    @extend_schema(tags=TAGS, responses=CloudSettingsSerializer, summary="Handler deadlines and the webhook key")
    def get(self, request: Request, org_id: int, app_id: int) -> Response:
        developer = developer_of(request)
        row = selectors.cloud_settings_get(developer=developer, organization=self.organization, app_pk=app_id)
        return Response(CloudSettingsSerializer(row).data)

    @extend_schema(
        tags=TAGS, request=CloudSettingsInputSerializer, responses=CloudSettingsSerializer,
        summary="Set the app's function and trigger deadlines (developer), within the platform's maximums",
    )  # fmt: skip
    def put(self, request: Request, org_id: int, app_id: int) -> Response:
        data = decoded(CloudSettingsInputSerializer, request.data)
        developer = developer_of(request)
        cloud_code.cloud_settings_update(
            actor=developer, organization=self.organization, app_pk=app_id,
            function_timeout_seconds=data["function_timeout_seconds"],
            trigger_timeout_seconds=data["trigger_timeout_seconds"],
        )  # fmt: skip
        row = selectors.cloud_settings_get(developer=developer, organization=self.organization, app_pk=app_id)
        return Response(CloudSettingsSerializer(row).data)
