from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "hangar.identity"
    label = "identity"
    verbose_name = "App users"

    def ready(self) -> None:
        from hangar.identity.class_rules import register

        register()
