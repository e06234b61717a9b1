"""DRF authentication by personal access token: ``Authorization: Bearer hgr_...``."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from hangar.secretbox import token_digest
from tenants.models import PersonalAccessToken


class PersonalAccessTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, PersonalAccessToken] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        scheme, _, token = header.partition(" ")
        if scheme.lower() not in {"bearer", "token"} or not token.strip():
            return None
        found = (
            PersonalAccessToken.objects.select_related("developer").filter(digest=token_digest(token.strip())).first()
        )
        now = timezone.now()
        if found is None or found.expires_at <= now or not found.developer.is_active:
            raise exceptions.AuthenticationFailed("Invalid or expired access token.")
        if found.last_used_at is None or (now - found.last_used_at).total_seconds() > 60:
            PersonalAccessToken.objects.filter(pk=found.pk).update(last_used_at=now)
        return found.developer, found

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class PersonalAccessTokenScheme(OpenApiAuthenticationExtension):
    """Describes the token header in the OpenAPI document, so Swagger UI's Authorize button takes a token."""

    target_class = "tenants.authentication.PersonalAccessTokenAuthentication"
    name = "personalAccessToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal access token: POST /api/v1/auth/token with email and password, "
            "or create one on the dashboard's account page.",
        }
