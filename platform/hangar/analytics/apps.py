from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "hangar.analytics"
    label = "analytics"
    verbose_name = "Analytics and usage"
    default_auto_field = "django.db.models.BigAutoField"
