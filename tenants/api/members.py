"""Members of an organization and invitations to join it."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tenants import selectors, services
from tenants.api.base import OrganizationScopedApi, decoded, developer_of
from tenants.serializers import (
    InvitationAcceptInputSerializer,
    InvitationCreateInputSerializer,
    InvitationSerializer,
    JoinedMembershipSerializer,
    MembershipSerializer,
    RoleInputSerializer,
)

TAGS = ["members"]


class MembershipListApi(OrganizationScopedApi):
    @extend_schema(tags=TAGS, responses=MembershipSerializer(many=True), summary="Members and their roles")
    def get(self, request: Request, org_id: int) -> Response:
        memberships = selectors.membership_list(developer=developer_of(request), organization=self.organization)
        return Response(MembershipSerializer(memberships, many=True).data)


class MembershipDetailApi(OrganizationScopedApi):
    @extend_schema(
        tags=TAGS,
        request=RoleInputSerializer,
        responses=MembershipSerializer,
        summary="Change a member's role (admin; owner to grant or take the owner role)",
    )
    def patch(self, request: Request, org_id: int, membership_id: int) -> Response:
        data = decoded(RoleInputSerializer, request.data)
        membership = services.membership_change_role(
            actor=developer_of(request),
            organization=self.organization,
            membership_id=membership_id,
            role=data["role"],
        )
        return Response(MembershipSerializer(membership).data)

    @extend_schema(tags=TAGS, responses={204: None}, summary="Remove a member, or leave (your own membership)")
    def delete(self, request: Request, org_id: int, membership_id: int) -> Response:
        services.membership_remove(
            actor=developer_of(request), organization=self.organization, membership_id=membership_id
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationListCreateApi(OrganizationScopedApi):
    @extend_schema(tags=TAGS, responses=InvitationSerializer(many=True), summary="Open invitations")
    def get(self, request: Request, org_id: int) -> Response:
        invitations = selectors.invitation_list(developer=developer_of(request), organization=self.organization)
        return Response(InvitationSerializer(invitations, many=True).data)

    @extend_schema(
        tags=TAGS,
        request=InvitationCreateInputSerializer,
        responses={201: InvitationSerializer},
        summary="Invite someone by email (admin); the link travels only in the email",
    )
    def post(self, request: Request, org_id: int) -> Response:
        data = decoded(InvitationCreateInputSerializer, request.data)
        invitation, _token = services.invitation_create(
            actor=developer_of(request), organization=self.organization, email=data["email"], role=data["role"]
        )
        return Response(InvitationSerializer(invitation).data, status=status.HTTP_201_CREATED)


class InvitationRevokeApi(OrganizationScopedApi):
    @extend_schema(tags=TAGS, responses={204: None}, summary="Revoke an open invitation (admin)")
    def delete(self, request: Request, org_id: int, invitation_id: int) -> Response:
        services.invitation_revoke(
            actor=developer_of(request), organization=self.organization, invitation_id=invitation_id
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationAcceptApi(APIView):
    @extend_schema(
        tags=TAGS,
        request=InvitationAcceptInputSerializer,
        responses=JoinedMembershipSerializer,
        summary="Accept an invitation sent to your email address",
    )
    def post(self, request: Request) -> Response:
        data = decoded(InvitationAcceptInputSerializer, request.data)
        membership = services.invitation_accept(developer=developer_of(request), token=data["token"])
        return Response(JoinedMembershipSerializer(membership).data)
