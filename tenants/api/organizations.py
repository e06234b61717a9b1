"""Organizations and their audit log."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tenants import selectors, services
from tenants.api.base import OrganizationScopedApi, decoded, developer_of
from tenants.authentication import token_of
from tenants.models import AuditEvent
from tenants.serializers import AuditEventSerializer, NameInputSerializer, OrganizationSerializer

TAGS = ["organizations"]


class OrganizationListCreateApi(APIView):
    @extend_schema(tags=TAGS, responses=OrganizationSerializer(many=True), summary="Organizations you belong to")
    def get(self, request: Request) -> Response:
        organizations = selectors.organization_list(developer=developer_of(request))
        token = token_of(request)
        if token is not None and token.organization_id is not None:
            organizations = organizations.filter(pk=token.organization_id)
        return Response(OrganizationSerializer(organizations, many=True).data)

    @extend_schema(
        tags=TAGS,
        request=NameInputSerializer,
        responses={201: OrganizationSerializer},
        summary="Create an organization (you become its owner)",
    )
    def post(self, request: Request) -> Response:
        data = decoded(NameInputSerializer, request.data)
        organization = services.organization_create(actor=developer_of(request), name=data["name"])
        return Response(OrganizationSerializer(organization).data, status=status.HTTP_201_CREATED)


class OrganizationDetailApi(OrganizationScopedApi):
    @extend_schema(tags=TAGS, responses=OrganizationSerializer, summary="One organization")
    def get(self, request: Request, org_id: int) -> Response:
        return Response(OrganizationSerializer(self.organization).data)

    @extend_schema(
        tags=TAGS,
        request=NameInputSerializer,
        responses=OrganizationSerializer,
        summary="Rename an organization (admin)",
    )
    def patch(self, request: Request, org_id: int) -> Response:
        data = decoded(NameInputSerializer, request.data)
        organization = services.organization_rename(
            actor=developer_of(request), organization=self.organization, name=data["name"]
        )
        return Response(OrganizationSerializer(organization).data)


@extend_schema(tags=TAGS, summary="The organization's audit log, newest first")
class AuditEventListApi(OrganizationScopedApi, generics.ListAPIView[AuditEvent]):
    """Paginated with ``?limit=&offset=`` (the project's default pagination)."""

    serializer_class = AuditEventSerializer

    def get_queryset(self) -> QuerySet[AuditEvent]:
        return selectors.audit_event_list(developer=developer_of(self.request), organization=self.organization)
