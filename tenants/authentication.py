"""DRF authentication by personal access token: ``Authorization: Bearer hgr_...``."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from rest_framework import authentication, exceptions, permissions
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


def token_of(request: Request) -> PersonalAccessToken | None:
    """The access token the request authenticated with; None for a dashboard session."""
    return request.auth if isinstance(request.auth, PersonalAccessToken) else None


class AccessTokenScope(permissions.BasePermission):
    """A read-only token only reads; an organization's token changes nothing outside that organization.

    Which organization a request is for is checked where it is resolved
    (tenants.api.base.OrganizationScopedApi): another organization looks absent (404).
    """

    message = "This access token is read-only."

    def has_permission(self, request: Request, view: Any) -> bool:
        token = token_of(request)
        if token is None or request.method in permissions.SAFE_METHODS:
            return True
        if token.read_only:
            return False
        from tenants.api.base import OrganizationScopedApi  # the edge that resolves the organization

        if token.organization_id is not None and not isinstance(view, OrganizationScopedApi):
            self.message = "This access token is limited to one organization."
            return False
        return True
