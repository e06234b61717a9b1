"""An app's analytics and usage through the management API (the dashboard's charts, for the CLI and scripts).

Any member of the organization may read them; another organization's app is a 404 like a
missing one. Each view decodes its query, calls one selector of hangar.analytics with the
app resolved here, and encodes the answer.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from hangar.analytics import selectors
from hangar.analytics.quotas import app_usage
from tenants import selectors as tenant_selectors
from tenants.api.base import OrganizationScopedApi, decoded, developer_of
from tenants.models import App

TAGS = ["analytics"]
MAX_RANGE = timedelta(days=366)


class RangeSerializer(serializers.Serializer):
    start = serializers.DateTimeField(required=False, help_text="Default: 7 days before end.")
    end = serializers.DateTimeField(required=False, help_text="Default: now.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        end = attrs.get("end") or datetime.now(UTC)
        start = attrs.get("start") or end - timedelta(days=7)
        if not start < end or end - start > MAX_RANGE:
            raise ValidationError("start must come before end, at most 366 days apart.")
        return {**attrs, "start": start, "end": end}


class EventQuerySerializer(RangeSerializer):
    name = serializers.CharField(required=False, max_length=128)
    dimension = serializers.CharField(required=False, max_length=64)


class FunnelQuerySerializer(RangeSerializer):
    steps = serializers.CharField(help_text="Event names in order, comma-separated (2 to 8).")
    window_hours = serializers.FloatField(min_value=0.01, max_value=24 * 90, default=24)


class RetentionQuerySerializer(serializers.Serializer):
    weeks = serializers.IntegerField(min_value=1, max_value=26, default=8)


class UsageLineSerializer(serializers.Serializer):
    metric = serializers.CharField()
    description = serializers.CharField(source="label")
    used = serializers.IntegerField()
    limit = serializers.IntegerField(help_text="0: unlimited")
    unit = serializers.CharField()
    percent = serializers.IntegerField(allow_null=True)
    warning = serializers.BooleanField(help_text="At 80% of the limit or more.")


class _CountSerializer(serializers.Serializer):
    bucket = serializers.DateTimeField()
    count = serializers.IntegerField()


class _NamedCountSerializer(serializers.Serializer):
    name = serializers.CharField()
    count = serializers.IntegerField()


class _ValueCountSerializer(serializers.Serializer):
    value = serializers.CharField(allow_null=True, help_text="null: events without this dimension")
    count = serializers.IntegerField()


class EventStatsSerializer(serializers.Serializer):
    period = serializers.ChoiceField(choices=["hour", "day"])
    counts = _CountSerializer(many=True)
    names = _NamedCountSerializer(many=True)
    unique = serializers.DictField(child=serializers.IntegerField(), help_text="users, installations")
    by_dimension = _ValueCountSerializer(many=True, required=False, help_text="with name and dimension")


class _StepSerializer(serializers.Serializer):
    name = serializers.CharField()
    actors = serializers.IntegerField()


class FunnelSerializer(serializers.Serializer):
    steps = _StepSerializer(many=True)


class _CohortSerializer(serializers.Serializer):
    week = serializers.DateTimeField()
    users = serializers.IntegerField()
    retained = serializers.ListField(child=serializers.IntegerField(), help_text="active in week 0, 1, 2, ...")


class RetentionSerializer(serializers.Serializer):
    cohorts = _CohortSerializer(many=True)


class _AppApi(OrganizationScopedApi):
    def app(self, request: Request, app_id: int) -> App:
        return tenant_selectors.app_get(developer=developer_of(request), organization=self.organization, app_pk=app_id)


def _query(serializer: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    return decoded(serializer, request.query_params.dict())


class AppUsageApi(_AppApi):
    @extend_schema(tags=TAGS, responses=UsageLineSerializer(many=True), summary="This month's usage against the plan")
    def get(self, request: Request, org_id: int, app_id: int) -> Response:
        return Response(UsageLineSerializer(app_usage(self.app(request, app_id)), many=True).data)


class AppEventStatsApi(_AppApi):
    @extend_schema(
        tags=TAGS, parameters=[EventQuerySerializer], responses=EventStatsSerializer,
        summary="Events over time, by dimension, actors",
    )  # fmt: skip
    def get(self, request: Request, org_id: int, app_id: int) -> Response:
        query = _query(EventQuerySerializer, request)
        app_pk, start, end, name = self.app(request, app_id).pk, query["start"], query["end"], query.get("name")
        period, points = selectors.event_counts_over_time(app_pk=app_pk, start=start, end=end, name=name)
        body: dict[str, Any] = {
            "period": period,
            "counts": [{"bucket": bucket, "count": count} for bucket, count in points],
            "names": [{"name": n, "count": c} for n, c in selectors.event_names(app_pk=app_pk, start=start, end=end)],
            "unique": selectors.unique_actors(app_pk=app_pk, start=start, end=end),
        }
        if name and query.get("dimension"):
            by_value = selectors.event_counts_by_dimension(
                app_pk=app_pk, name=name, dimension=query["dimension"], start=start, end=end
            )
            body["by_dimension"] = [{"value": value, "count": count} for value, count in by_value]
        return Response(body)


class AppFunnelApi(_AppApi):
    @extend_schema(
        tags=TAGS, parameters=[FunnelQuerySerializer], responses=FunnelSerializer,
        summary="Actors who did the steps in order",
    )  # fmt: skip
    def get(self, request: Request, org_id: int, app_id: int) -> Response:
        query = _query(FunnelQuerySerializer, request)
        app = self.app(request, app_id)
        steps = [step.strip() for step in query["steps"].split(",") if step.strip()]
        try:
            result = selectors.funnel(
                app_pk=app.pk, steps=steps, start=query["start"], end=query["end"],
                window=timedelta(hours=query["window_hours"]),
            )  # fmt: skip
        except selectors.AnalyticsQueryError as exc:
            raise ValidationError({"steps": [str(exc)]}) from exc
        return Response({"steps": [{"name": step.name, "actors": step.actors} for step in result]})


class AppRetentionApi(_AppApi):
    @extend_schema(
        tags=TAGS, parameters=[RetentionQuerySerializer], responses=RetentionSerializer,
        summary="Retention by sign-up week",
    )  # fmt: skip
    def get(self, request: Request, org_id: int, app_id: int) -> Response:
        query = _query(RetentionQuerySerializer, request)
        cohorts = selectors.retention_cohorts(app_pk=self.app(request, app_id).pk, weeks=query["weeks"])
        return Response({"cohorts": [{"week": c.week, "users": c.users, "retained": c.retained} for c in cohorts]})
