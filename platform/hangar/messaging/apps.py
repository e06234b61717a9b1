from __future__ import annotations

from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "hangar.messaging"
    label = "messaging"
    verbose_name = "Messaging"

    def ready(self) -> None:
        from hangar.messaging import cloud_calls, push_classes

        push_classes.register()
        cloud_calls.register()
