"""An app's push campaigns: status and counts per campaign (what the dashboard's push console shows)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from hangar.messaging import selectors as campaigns
from tenants import selectors
from tenants.api.base import OrganizationScopedApi, decoded, developer_of
from tenants.errors import NotFoundError

TAGS = ["push"]


class PushCampaignSerializer(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.CharField(help_text="pending, scheduled, running, succeeded or failed (as Parse)")
    source = serializers.CharField()  # type: ignore[assignment]  # the campaign's field, not DRF's Field.source
    push_time = serializers.CharField(allow_null=True, help_text="ISO 8601; without a zone: each device's local time")
    query = serializers.JSONField()
    payload = serializers.JSONField()
    title = serializers.CharField(allow_null=True)
    expiry = serializers.IntegerField(allow_null=True, help_text="ms since the epoch")
    expiration_interval = serializers.IntegerField(allow_null=True, help_text="seconds after push_time")
    count = serializers.IntegerField(help_text="installations the campaign goes to")
    num_sent = serializers.IntegerField()
    num_failed = serializers.IntegerField()
    sent_per_type = serializers.DictField(child=serializers.IntegerField())
    failed_per_type = serializers.DictField(child=serializers.IntegerField())
    sent_per_utc_offset = serializers.DictField(child=serializers.IntegerField())
    failed_per_utc_offset = serializers.DictField(child=serializers.IntegerField())
    failed_per_error = serializers.DictField(child=serializers.IntegerField())
    deliveries = serializers.DictField(child=serializers.IntegerField(), help_text="deliveries by state")
    error_message = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class PushCampaignQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["pending", "scheduled", "running", "succeeded", "failed"], required=False)
    limit = serializers.IntegerField(min_value=1, max_value=campaigns.MAX_CAMPAIGNS_LISTED, default=50)


class PushCampaignListApi(OrganizationScopedApi):
    @extend_schema(
        tags=TAGS, responses=PushCampaignSerializer(many=True), summary="The app's push campaigns, newest first",
        parameters=[OpenApiParameter("status", str), OpenApiParameter("limit", int)],
    )  # fmt: skip
    def get(self, request: Request, org_id: int, app_id: int) -> Response:
        query = decoded(PushCampaignQuerySerializer, request.query_params)
        app = selectors.app_get(developer=developer_of(request), organization=self.organization, app_pk=app_id)
        rows = campaigns.push_campaign_list(app_pk=app.pk, status=query.get("status"), limit=query["limit"])
        return Response(PushCampaignSerializer(rows, many=True).data)


class PushCampaignDetailApi(OrganizationScopedApi):
    @extend_schema(tags=TAGS, responses=PushCampaignSerializer, summary="One push campaign's status and counts")
    def get(self, request: Request, org_id: int, app_id: int, campaign_id: str) -> Response:
        app = selectors.app_get(developer=developer_of(request), organization=self.organization, app_pk=app_id)
        row = campaigns.push_campaign_get(app_pk=app.pk, campaign_id=campaign_id)
        if row is None:
            raise NotFoundError("Campaign not found.")
        return Response(PushCampaignSerializer(row).data)
