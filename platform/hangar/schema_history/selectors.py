"""Reads of the schema history: the app's schema as a document, and its recorded migrations."""

from __future__ import annotations

from typing import Any

from hangar.datastore.models import SchemaClass
from hangar.schema_history.document import SchemaDocument, SchemaDocumentError, class_spec_from_stored, document_parse
from hangar.schema_history.errors import SchemaChangeError
from hangar.schema_history.models import SchemaMigration
from hangar.schema_history.planning import Plan, plan_changes
from tenants.models import App


def schema_document_get(*, app: App) -> SchemaDocument:
    """The app's schema as committed, in the terms of the schema file."""
    rows = SchemaClass.objects.filter(app=app).order_by("class_name")
    classes = {
        row.class_name: class_spec_from_stored(row.class_name, row.fields, row.class_level_permissions, row.indexes)
        for row in rows
    }
    return SchemaDocument(classes, sorted(app.live_query_classes or []))


def schema_migration_list(*, app: App, limit: int = 100) -> list[SchemaMigration]:
    return list(SchemaMigration.objects.filter(app=app).order_by("-number")[:limit])


def schema_plan(*, app: App, raw: Any, allow_destructive: bool) -> Plan:
    """What pushing ``raw`` (the decoded schema file) would change; nothing is written."""
    try:
        desired = document_parse(raw)
    except SchemaDocumentError as exc:
        raise SchemaChangeError(str(exc)) from exc
    return plan_changes(schema_document_get(app=app), desired, allow_destructive=allow_destructive)


def class_schema_wire_get(*, app: App, class_name: str) -> dict[str, Any] | None:
    """A class as committed, in the shape ``/schemas`` answers (None: no such class), to record a change against."""
    row = SchemaClass.objects.filter(app=app, class_name=class_name).first()
    if row is None:
        return None
    return {"fields": row.fields, "classLevelPermissions": row.class_level_permissions, "indexes": row.indexes or {}}
