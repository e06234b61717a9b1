from django.apps import AppConfig


class SchemaHistoryConfig(AppConfig):
    name = "hangar.schema_history"
    label = "schema_history"
    verbose_name = "Schema history"
