"""Apps of an organization and their Parse keys."""

from __future__ import annotations

from collections.abc import Mapping

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from tenants import selectors, services
from tenants.api.base import OrganizationScopedApi, decoded, developer_of
from tenants.errors import PermissionDeniedError
from tenants.models import AppKey
from tenants.serializers import (
    AppCreatedSerializer,
    AppDeleteInputSerializer,
    AppKeyRotatedSerializer,
    AppKeysQuerySerializer,
    AppKeysSerializer,
    AppSerializer,
    ClientClassCreationInputSerializer,
    LiveQueryClassesInputSerializer,
    NameInputSerializer,
)

TAGS = ["apps"]

CONFIRM_NAME = OpenApiParameter(
    "confirm_name",
    OpenApiTypes.STR,
    OpenApiParameter.QUERY,
    required=False,
    description="The app's exact name; may also be sent in a JSON body.",
)
INCLUDE_MASTER = OpenApiParameter(
    "include_master",
    OpenApiTypes.BOOL,
    OpenApiParameter.QUERY,
    required=False,
    description="Reveal the master key (admins and owners only; null for others).",
)
KIND = OpenApiParameter("kind", OpenApiTypes.STR, OpenApiParameter.PATH, enum=AppKey.Kind.values)


class AppListCreateApi(OrganizationScopedApi):
    @extend_schema(tags=TAGS, responses=AppSerializer(many=True), summary="Active apps of the organization")
    def get(self, request: Request, org_id: int) -> Response:
        apps = selectors.app_list(developer=developer_of(request), organization=self.organization)
        return Response(AppSerializer(apps, many=True).data)

    @extend_schema(
        tags=TAGS,
        request=NameInputSerializer,
        responses={201: AppCreatedSerializer},
        summary="Create and provision an app (developer); its keys are in the response",
    )
    def post(self, request: Request, org_id: int) -> Response:
        data = decoded(NameInputSerializer, request.data)
        developer, organization = developer_of(request), self.organization
        app, keys = services.app_create(actor=developer, organization=organization, name=data["name"])
        # Encoding, not a second action: the creator sees the master key only if their role may.
        visible = selectors.app_keys_visible_to(developer=developer, organization=organization, keys=keys)
        body = {**AppSerializer(app).data, "keys": AppKeysSerializer(visible).data}
        return Response(body, status=status.HTTP_201_CREATED)


class AppDetailApi(OrganizationScopedApi):
    @extend_schema(tags=TAGS, responses=AppSerializer, summary="One app")
    def get(self, request: Request, org_id: int, app_id: int) -> Response:
        app = selectors.app_get(developer=developer_of(request), organization=self.organization, app_pk=app_id)
        return Response(AppSerializer(app).data)

    @extend_schema(tags=TAGS, request=NameInputSerializer, responses=AppSerializer, summary="Rename an app (developer)")
    def patch(self, request: Request, org_id: int, app_id: int) -> Response:
        data = decoded(NameInputSerializer, request.data)
        app = services.app_rename(
            actor=developer_of(request), organization=self.organization, app_pk=app_id, name=data["name"]
        )
        return Response(AppSerializer(app).data)

    @extend_schema(
        tags=TAGS,
        parameters=[CONFIRM_NAME],
        responses={202: None},
        summary="Delete an app (admin): it stops answering now, its data is purged in the background",
    )
    def delete(self, request: Request, org_id: int, app_id: int) -> Response:
        in_body = isinstance(request.data, Mapping) and "confirm_name" in request.data
        source = request.data if in_body else request.query_params
        data = decoded(AppDeleteInputSerializer, source)
        services.app_delete(
            actor=developer_of(request),
            organization=self.organization,
            app_pk=app_id,
            confirm_name=data["confirm_name"],
        )
        return Response(status=status.HTTP_202_ACCEPTED)


class AppLiveQueryApi(OrganizationScopedApi):
    @extend_schema(
        tags=TAGS, request=LiveQueryClassesInputSerializer, responses=AppSerializer,
        summary="Set which classes LiveQuery clients may subscribe to (developer); empty: every class",
    )  # fmt: skip
    def put(self, request: Request, org_id: int, app_id: int) -> Response:
        data = decoded(LiveQueryClassesInputSerializer, request.data)
        app = services.app_live_query_classes_set(
            actor=developer_of(request), organization=self.organization, app_pk=app_id,
            class_names=data["live_query_classes"],
        )  # fmt: skip
        return Response(AppSerializer(app).data)


class AppClientClassCreationApi(OrganizationScopedApi):
    @extend_schema(
        tags=TAGS, request=ClientClassCreationInputSerializer, responses=AppSerializer,
        summary="Let clients create classes by saving to them (developer); off by default, as in Parse Server 7+",
    )  # fmt: skip
    def put(self, request: Request, org_id: int, app_id: int) -> Response:
        data = decoded(ClientClassCreationInputSerializer, request.data)
        app = services.app_client_class_creation_set(
            actor=developer_of(request), organization=self.organization, app_pk=app_id,
            allowed=data["allow_client_class_creation"],
        )  # fmt: skip
        return Response(AppSerializer(app).data)


class AppKeyListApi(OrganizationScopedApi):
    @extend_schema(
        tags=TAGS,
        parameters=[INCLUDE_MASTER],
        responses=AppKeysSerializer,
        summary="The app's keys in plain text",
    )
    def get(self, request: Request, org_id: int, app_id: int) -> Response:
        query = decoded(AppKeysQuerySerializer, request.query_params)
        developer = developer_of(request)
        # The app is resolved at the edge like the organization; the keys are the one read.
        app = selectors.app_get(developer=developer, organization=self.organization, app_pk=app_id)
        keys = selectors.app_keys_for(developer=developer, app=app)
        if query["include_master"]:
            try:  # through the service, which audits the reveal; a role below admin just gets null as before
                keys[AppKey.Kind.MASTER] = services.app_master_key_reveal(
                    actor=developer, organization=self.organization, app_pk=app.pk
                )
            except PermissionDeniedError:
                pass
        return Response(AppKeysSerializer(keys).data)


class AppKeyRotateApi(OrganizationScopedApi):
    @extend_schema(
        tags=TAGS,
        request=None,
        parameters=[KIND],
        responses=AppKeyRotatedSerializer,
        summary="Replace one key (admin); the old value stops working at once",
    )
    def post(self, request: Request, org_id: int, app_id: int, kind: str) -> Response:
        value = services.app_key_rotate(
            actor=developer_of(request), organization=self.organization, app_pk=app_id, kind=kind
        )
        return Response(AppKeyRotatedSerializer({"kind": kind, "value": value}).data)
