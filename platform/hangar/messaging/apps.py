from __future__ import annotations

from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "hangar.messaging"
    label = "messaging"
    verbose_name = "Messaging"

    def ready(self) -> None:
        from hangar.messaging import push_classes

        push_classes.register()
