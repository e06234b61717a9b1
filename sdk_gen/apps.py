import logging
import threading
from typing import Any

from django.apps import AppConfig
from django.conf import settings

logger = logging.getLogger(__name__)


def _warm_in_background(**_: Any) -> None:
    """Celery ``worker_process_init``: warm this worker process's compilers without delaying its start."""

    def warm() -> None:
        from sdk_gen.generate import compilers_warm

        try:
            compilers_warm()
        except Exception:  # a missing or broken compiler shows again, clearly, in the first real build
            logger.warning("could not warm the SDK compilers", exc_info=True)

    threading.Thread(target=warm, name="sdk-compilers-warm", daemon=True).start()


class SdkGenConfig(AppConfig):
    name = "sdk_gen"
    label = "sdk_gen"
    verbose_name = "Generated client SDKs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        if settings.HANGAR_SDK_WARM_COMPILERS:
            from celery.signals import worker_process_init

            worker_process_init.connect(_warm_in_background, weak=False)
