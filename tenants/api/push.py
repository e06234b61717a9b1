"""An app's push audiences in the management API: their live installation count."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from tenants import push_audiences
from tenants.api.base import OrganizationScopedApi, decoded, developer_of

TAGS = ["push"]


class PushCountSerializer(serializers.Serializer):
    count = serializers.IntegerField()


class PushQueryCountInputSerializer(serializers.Serializer):
    where = serializers.DictField(help_text="An _Installation query, as Parse's `where`.")


class PushAudienceCountApi(OrganizationScopedApi):
    @extend_schema(
        tags=TAGS, responses=PushCountSerializer, summary="How many installations a saved audience reaches now"
    )
    def get(self, request: Request, org_id: int, app_id: int, audience_id: str) -> Response:
        count = push_audiences.push_audience_count(
            developer=developer_of(request), organization=self.organization, app_pk=app_id, audience_id=audience_id
        )
        return Response({"count": count})


class PushQueryCountApi(OrganizationScopedApi):
    @extend_schema(
        tags=TAGS, request=PushQueryCountInputSerializer, responses=PushCountSerializer,
        summary="How many installations an installation query reaches now (an audience being built)",
    )  # fmt: skip
    def post(self, request: Request, org_id: int, app_id: int) -> Response:
        data = decoded(PushQueryCountInputSerializer, request.data)
        count = push_audiences.push_query_count(
            developer=developer_of(request), organization=self.organization, app_pk=app_id, where=data["where"]
        )
        return Response({"count": count})
