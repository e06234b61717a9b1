from django.apps import AppConfig


class SchemaHistoryConfig(AppConfig):
    name = "hangar.schema_history"
    label = "schema_history"
    verbose_name = "Schema history"

    def ready(self) -> None:
        # Schema-on-write is recorded as migrations too (hangar.schema_history.recording).
        from hangar.datastore.schema_registry import on_fields_added
        from hangar.schema_history.recording import schema_on_write_record

        on_fields_added(schema_on_write_record)
