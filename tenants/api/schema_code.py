"""Schema as code: the app's schema file, diff, push, promotion, migration history and rollback."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from hangar.schema_history.models import SchemaMigration
from hangar.schema_history.planning import Plan, describe
from tenants import selectors
from tenants.api.base import OrganizationScopedApi, decoded, developer_of
from tenants.services import schema_code

TAGS = ["schema"]


class SchemaInputSerializer(serializers.Serializer):
    schema = serializers.JSONField(help_text="The schema file's content (docs/cli.md, Schema as code).")
    allow_destructive = serializers.BooleanField(default=False)
    message = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class PromoteInputSerializer(serializers.Serializer):
    source_application_id = serializers.CharField(max_length=64)
    allow_destructive = serializers.BooleanField(default=False)


class RollbackInputSerializer(serializers.Serializer):
    number = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)


class SchemaMigrationSerializer(serializers.ModelSerializer):
    changes = serializers.SerializerMethodField()

    class Meta:
        model = SchemaMigration
        fields = [
            "number", "source", "author_email", "message", "created_at", "operations", "changes", "reverse",
            "irreversible", "reverts", "promoted_from", "rolled_back",
        ]  # fmt: skip

    def get_changes(self, migration: SchemaMigration) -> list[str]:
        return [describe(op) for op in migration.operations]


def _plan_body(plan: Plan) -> dict[str, Any]:
    return {
        **plan.wire(),
        "changes": [describe(op) for op in plan.operations],
        "skipped_changes": [describe(op) for op in plan.skipped],
    }


class SchemaFileApi(OrganizationScopedApi):
    @extend_schema(tags=TAGS, responses=dict, summary="The app's schema as a schema file (schema pull)")
    def get(self, request: Request, org_id: int, app_id: int) -> Response:
        body = selectors.schema_file_get(developer=developer_of(request), organization=self.organization, app_pk=app_id)
        return Response(body)


class SchemaDiffApi(OrganizationScopedApi):
    @extend_schema(tags=TAGS, request=SchemaInputSerializer, responses=dict, summary="What pushing a file would change")
    def post(self, request: Request, org_id: int, app_id: int) -> Response:
        data = decoded(SchemaInputSerializer, request.data)
        plan = selectors.schema_diff_get(
            developer=developer_of(request), organization=self.organization, app_pk=app_id,
            document=data["schema"], allow_destructive=data["allow_destructive"],
        )  # fmt: skip
        return Response(_plan_body(plan))


def _outcome(outcome: Any) -> Response:
    migration = outcome.migration
    body = {**_plan_body(outcome.plan), "migration": SchemaMigrationSerializer(migration).data if migration else None}
    return Response(body, status=status.HTTP_201_CREATED if migration else status.HTTP_200_OK)


class SchemaPushApi(OrganizationScopedApi):
    @extend_schema(
        tags=TAGS, request=SchemaInputSerializer, responses=dict,
        summary="Apply a schema file as a recorded migration (developer); 201 with it, 200 if nothing changed",
    )  # fmt: skip
    def post(self, request: Request, org_id: int, app_id: int) -> Response:
        data = decoded(SchemaInputSerializer, request.data)
        outcome = schema_code.schema_push(
            actor=developer_of(request), organization=self.organization, app_pk=app_id, document=data["schema"],
            allow_destructive=data["allow_destructive"], message=data["message"],
        )  # fmt: skip
        return _outcome(outcome)


class SchemaPromoteApi(OrganizationScopedApi):
    @extend_schema(
        tags=TAGS, request=PromoteInputSerializer, responses=dict,
        summary="Make this app's schema another app's (staging to production), as a recorded migration",
    )  # fmt: skip
    def post(self, request: Request, org_id: int, app_id: int) -> Response:
        data = decoded(PromoteInputSerializer, request.data)
        outcome = schema_code.schema_promote(
            actor=developer_of(request), organization=self.organization, app_pk=app_id,
            source_app_id=data["source_application_id"], allow_destructive=data["allow_destructive"],
        )  # fmt: skip
        return _outcome(outcome)


class SchemaMigrationListApi(OrganizationScopedApi):
    @extend_schema(
        tags=TAGS, responses=SchemaMigrationSerializer(many=True), summary="Recorded migrations, newest first"
    )
    def get(self, request: Request, org_id: int, app_id: int) -> Response:
        rows = selectors.schema_migration_list_for(
            developer=developer_of(request), organization=self.organization, app_pk=app_id
        )
        return Response(SchemaMigrationSerializer(rows, many=True).data)


class SchemaRollbackApi(OrganizationScopedApi):
    @extend_schema(
        tags=TAGS, request=RollbackInputSerializer, responses={201: SchemaMigrationSerializer},
        summary="Undo the latest migration (or the one numbered), recorded as a migration of its own",
    )  # fmt: skip
    def post(self, request: Request, org_id: int, app_id: int) -> Response:
        data = decoded(RollbackInputSerializer, request.data if request.data else {})
        migration = schema_code.schema_rollback(
            actor=developer_of(request), organization=self.organization, app_pk=app_id, number=data["number"]
        )
        return Response(SchemaMigrationSerializer(migration).data, status=status.HTTP_201_CREATED)
