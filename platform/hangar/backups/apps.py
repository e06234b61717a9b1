from django.apps import AppConfig


class BackupsConfig(AppConfig):
    name = "hangar.backups"
    label = "backups"
    verbose_name = "Backups"
