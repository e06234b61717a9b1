from django.apps import AppConfig


class BuildsConfig(AppConfig):
    name = "hangar.builds"
    label = "builds"
    verbose_name = "Native builds"
    default_auto_field = "django.db.models.BigAutoField"
