from django.apps import AppConfig


class CloudcodeConfig(AppConfig):
    name = "hangar.cloudcode"
    label = "cloudcode"
    verbose_name = "Cloud code"

    def ready(self) -> None:
        from hangar.cloudcode import job_classes
        from hangar.cloudcode.triggers import install

        install()
        job_classes.register()
