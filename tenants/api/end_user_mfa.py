"""An app's multi-factor sign-in for its end users: which second factors, and the codes' shape."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from tenants.api.base import OrganizationScopedApi, decoded, developer_of
from tenants.services import end_user_mfa

TAGS = ["end users"]


class EndUserMfaSerializer(serializers.Serializer):
    options = serializers.ListField(child=serializers.CharField(max_length=8), max_length=2)
    digits = serializers.IntegerField(default=6)
    period = serializers.IntegerField(default=30)
    algorithm = serializers.CharField(max_length=8, default="SHA1")


class EndUserMfaApi(OrganizationScopedApi):
    @extend_schema(tags=TAGS, responses=EndUserMfaSerializer, summary="The app's multi-factor sign-in options")
    def get(self, request: Request, org_id: int, app_id: int) -> Response:
        found = end_user_mfa.end_user_mfa_get(
            actor=developer_of(request), organization=self.organization, app_pk=app_id
        )
        return Response(EndUserMfaSerializer(found).data)

    @extend_schema(
        tags=TAGS, request=EndUserMfaSerializer, responses=EndUserMfaSerializer,
        summary="Turn multi-factor sign-in on (options: TOTP and/or SMS) or off ([]) (admin); Parse's auth.mfa",
    )  # fmt: skip
    def put(self, request: Request, org_id: int, app_id: int) -> Response:
        data = decoded(EndUserMfaSerializer, request.data)
        saved = end_user_mfa.end_user_mfa_set(
            actor=developer_of(request), organization=self.organization, app_pk=app_id,
            settings=end_user_mfa.MfaSettings(**data),
        )  # fmt: skip
        return Response(EndUserMfaSerializer(saved).data)
