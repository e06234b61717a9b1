"""The caller's own account and personal access tokens."""

from __future__ import annotations

from datetime import datetime

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from hangar.client_address import client_address_of_meta
from tenants import selectors, services
from tenants.api.base import decoded, developer_of
from tenants.models import Developer, PersonalAccessToken
from tenants.serializers import (
    AccessTokenCreatedSerializer,
    AccessTokenExchangeInputSerializer,
    AccessTokenScopedCreateInputSerializer,
    AccessTokenSerializer,
    DeveloperSerializer,
)
from tenants.services import two_factor
from tenants.throttling import ClientAddressScopedRateThrottle

TAGS = ["account"]


def _creating_token_expiry(request: Request) -> datetime | None:
    """When the token making this request expires (None for a dashboard session): new tokens may not outlive it."""
    return request.auth.expires_at if isinstance(request.auth, PersonalAccessToken) else None


class MeApi(APIView):
    @extend_schema(tags=TAGS, responses=DeveloperSerializer, summary="The authenticated developer")
    def get(self, request: Request) -> Response:
        return Response(DeveloperSerializer(developer_of(request)).data)


class AccessTokenListCreateApi(APIView):
    @extend_schema(tags=TAGS, responses=AccessTokenSerializer(many=True), summary="List your access tokens")
    def get(self, request: Request) -> Response:
        tokens = selectors.access_token_list(developer=developer_of(request))
        return Response(AccessTokenSerializer(tokens, many=True).data)

    @extend_schema(
        tags=TAGS,
        request=AccessTokenScopedCreateInputSerializer,
        responses={201: AccessTokenCreatedSerializer},
        summary="Create an access token, optionally read-only or for one organization (the plain token is here only)",
    )
    def post(self, request: Request) -> Response:
        data = decoded(AccessTokenScopedCreateInputSerializer, request.data)
        token, plain = services.access_token_create(
            developer=developer_of(request),
            name=data["name"],
            expires_in_days=data.get("expires_in_days"),
            not_after=_creating_token_expiry(request),
            read_only=data["read_only"],
            organization_id=data["organization_id"],
        )
        return Response({**AccessTokenSerializer(token).data, "token": plain}, status=status.HTTP_201_CREATED)


class AccessTokenRevokeApi(APIView):
    @extend_schema(tags=TAGS, responses={204: None}, summary="Revoke one of your access tokens")
    def delete(self, request: Request, token_id: int) -> Response:
        services.access_token_revoke(developer=developer_of(request), token_id=token_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AccessTokenExchangeApi(APIView):
    """Email + password for a new access token, so that a CLI can bootstrap without a browser."""

    # No session authentication, hence no CSRF check: the password is the credential here.
    authentication_classes = []
    permission_classes = [AllowAny]
    # Password guessing: a budget per client address, shared by all processes (Redis cache),
    # on top of the per-email and per-address lockout of developer_authenticate.
    throttle_classes = [ClientAddressScopedRateThrottle]
    throttle_scope = "auth_token"

    @extend_schema(
        tags=TAGS,
        auth=[],
        request=AccessTokenExchangeInputSerializer,
        responses={201: AccessTokenCreatedSerializer},
        summary="Exchange email and password for an access token",
    )
    def post(self, request: Request) -> Response:
        data = decoded(AccessTokenExchangeInputSerializer, request.data)
        email = Developer.objects.normalize_email(data["email"])
        developer = services.developer_authenticate(
            request=request._request,
            email=email,
            password=data["password"],
            address=client_address_of_meta(request.META),
        )
        # Two-factor sign-in guards this door too, or a password alone would still mint a token.
        if two_factor.totp_enabled(developer=developer) and not two_factor.second_factor_check(
            developer=developer, code=data["otp"]
        ):
            raise exceptions.AuthenticationFailed("Two-factor sign-in is on: send otp, your authenticator's code.")
        token, plain = services.access_token_create(
            developer=developer, name=data["name"], expires_in_days=data.get("expires_in_days")
        )
        return Response({**AccessTokenSerializer(token).data, "token": plain}, status=status.HTTP_201_CREATED)
