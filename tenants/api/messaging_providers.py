"""An app's messaging providers: credentials per kind (write-only secrets) and the log provider's records."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from tenants.api.base import OrganizationScopedApi, decoded, developer_of
from tenants.services import messaging_providers

TAGS = ["messaging"]


class MessagingProviderSerializer(serializers.Serializer):
    kind = serializers.CharField()
    configured = serializers.BooleanField()
    summary = serializers.DictField(
        help_text="What may be shown: project id, key id, team id, sender... never a secret."
    )
    updated_at = serializers.DateTimeField(allow_null=True)
    updated_by = serializers.CharField(allow_blank=True)


class MessagingProviderInputSerializer(serializers.Serializer):
    config = serializers.DictField(help_text="The kind's credentials (docs/messaging.md, Providers and credentials).")


class LoggedMessageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    channel = serializers.CharField()
    recipient = serializers.CharField()
    content = serializers.DictField()
    created_at = serializers.DateTimeField()


class LoggedMessageQuerySerializer(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=500, default=100)
    channel = serializers.ChoiceField(choices=["push", "sms", "email"], required=False)


class MessagingProviderListApi(OrganizationScopedApi):
    @extend_schema(
        tags=TAGS,
        responses=MessagingProviderSerializer(many=True),
        summary="Every provider kind and whether it is configured",
    )
    def get(self, request: Request, org_id: int, app_id: int) -> Response:
        rows = messaging_providers.messaging_provider_list(
            actor=developer_of(request), organization=self.organization, app_pk=app_id
        )
        return Response(MessagingProviderSerializer(rows, many=True).data)


class MessagingProviderDetailApi(OrganizationScopedApi):
    @extend_schema(tags=TAGS, responses=MessagingProviderSerializer, summary="One provider kind (never its secrets)")
    def get(self, request: Request, org_id: int, app_id: int, kind: str) -> Response:
        row = messaging_providers.messaging_provider_get(
            actor=developer_of(request), organization=self.organization, app_pk=app_id, kind=kind
        )
        return Response(MessagingProviderSerializer(row).data)

    @extend_schema(
        tags=TAGS, request=MessagingProviderInputSerializer,
        responses={200: MessagingProviderSerializer, 400: OpenApiResponse(description="the config is not usable")},
        summary="Set the app's credentials for a provider (admin); encrypted at rest, never shown again",
    )  # fmt: skip
    def put(self, request: Request, org_id: int, app_id: int, kind: str) -> Response:
        data = decoded(MessagingProviderInputSerializer, request.data)
        row = messaging_providers.messaging_provider_set(
            actor=developer_of(request), organization=self.organization, app_pk=app_id, kind=kind, config=data["config"]
        )
        return Response(MessagingProviderSerializer(row).data)

    @extend_schema(
        tags=TAGS,
        responses={204: None},
        summary="Forget the provider's credentials (admin): the log provider takes over",
    )
    def delete(self, request: Request, org_id: int, app_id: int, kind: str) -> Response:
        messaging_providers.messaging_provider_delete(
            actor=developer_of(request), organization=self.organization, app_pk=app_id, kind=kind
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class MessagingLogListApi(OrganizationScopedApi):
    @extend_schema(
        tags=TAGS, parameters=[LoggedMessageQuerySerializer], responses=LoggedMessageSerializer(many=True),
        summary="What the log provider recorded instead of sending (developer), newest first",
    )  # fmt: skip
    def get(self, request: Request, org_id: int, app_id: int) -> Response:
        query = decoded(LoggedMessageQuerySerializer, request.query_params)
        rows = messaging_providers.messaging_log_list(
            actor=developer_of(request), organization=self.organization, app_pk=app_id, limit=query["limit"],
            channel=query.get("channel"),
        )  # fmt: skip
        return Response(LoggedMessageSerializer(rows, many=True).data)
