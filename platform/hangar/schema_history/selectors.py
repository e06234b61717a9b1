"""Reads of the schema history: the app's schema as a document, and its recorded migrations."""

from __future__ import annotations

from hangar.datastore.models import SchemaClass
from hangar.schema_history.document import SchemaDocument, class_spec_from_stored
from hangar.schema_history.models import SchemaMigration
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
