"""The management API's front door: ``GET /api/v1/`` says what is here and where its documents are."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tenants.api.accounts import TAGS as ACCOUNT_TAGS


class ApiIndexApi(APIView):
    """Answers anyone: it holds only addresses, the same for every deployment."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        tags=ACCOUNT_TAGS, auth=[], responses={200: OpenApiTypes.OBJECT},
        summary="What this API offers and where its documents are",
    )  # fmt: skip
    def get(self, request: Request) -> Response:
        def url(name: str) -> str:
            return request.build_absolute_uri(reverse(name))

        return Response(
            {
                "name": "Hangar management API",
                "version": "1",
                "trailing_slash": "Paths have none, except this index (/api/v1/).",
                "documents": {
                    "openapi": url("api-schema"),
                    "swagger_ui": url("api-docs"),
                    "redoc": url("api-redoc"),
                },
                "authentication": {
                    "token_endpoint": url("tenants:auth-token"),
                    "how": "POST email and password to token_endpoint (or create a token on the dashboard), "
                    "then send Authorization: Bearer <token>.",
                },
                "resources": {
                    "me": url("tenants:me"),
                    "tokens": url("tenants:token-list"),
                    "organizations": url("tenants:organization-list"),
                },
            }
        )


class ApiNotFoundApi(APIView):
    """Unknown paths under /api/v1/ answer JSON, not Django's HTML 404 page."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(exclude=True)
    def get(self, request: Request, rest: str = "") -> Response:
        detail = f"No endpoint at /api/v1/{rest}; the index at /api/v1/ lists what is here."
        return Response({"code": "not_found", "detail": detail}, status=404)

    post = put = patch = delete = get
