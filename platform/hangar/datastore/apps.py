from django.apps import AppConfig


class DatastoreConfig(AppConfig):
    name = "hangar.datastore"
    label = "datastore"
    verbose_name = "Data store"

    def ready(self) -> None:
        from hangar.datastore.installation_rules import register

        register()
