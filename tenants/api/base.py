"""What the management API views share: the acting developer, input decoding, the tenant at the edge."""

from __future__ import annotations

from typing import Any, cast

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.views import APIView

from tenants import selectors
from tenants.authentication import token_of
from tenants.errors import NotFoundError
from tenants.models import Developer, Organization


def developer_of(request: Request) -> Developer:
    """The authenticated developer (IsAuthenticated, the default permission, has run)."""
    return cast(Developer, request.user)


def decoded(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    """Validated input (``data`` is whatever the client sent: it may not even be an object), or a 400."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class OrganizationScopedApi(APIView):
    """A view under /organizations/<org_id>/: the organization is resolved once, before the handler runs.

    A non-member gets 404 (NotFoundError) right after authentication, whatever the method
    and body: never 403 and never a validation error, so existence does not leak.
    """

    organization: Organization

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        token = token_of(request)
        if (
            token is not None
            and token.organization_id is not None
            and str(token.organization_id) != str(kwargs["org_id"])
        ):
            raise NotFoundError("Organization not found.")  # as for a non-member: existence does not leak
        self.organization = selectors.organization_get(
            developer=developer_of(request), organization_id=kwargs["org_id"]
        )


class PersonalAccessTokenScheme(OpenApiAuthenticationExtension):
    """Documents ``Authorization: Bearer hgr_...`` in the OpenAPI document."""

    target_class = "tenants.authentication.PersonalAccessTokenAuthentication"
    name = "accessToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "A personal access token (hgr_...)."}
