from django.apps import AppConfig


class SdkGenConfig(AppConfig):
    name = "sdk_gen"
    label = "sdk_gen"
    verbose_name = "Generated client SDKs"
    default_auto_field = "django.db.models.BigAutoField"
