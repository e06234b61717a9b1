"""The Celery application; tasks are discovered in every installed Django app."""

import os
from typing import Any

from celery import Celery
from celery.signals import setup_logging

from hangar.observability.logs import celery_signals_connect
from hangar.observability.worker_health import worker_health_connect
from hangar.task_leases import TaskLeases

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hangar.settings")

app = Celery("hangar")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Messaging's SMS and email delivery task lives beside its push tasks, not in its tasks module.
app.autodiscover_tasks(["hangar.messaging"], related_name="send_tasks")
app.steps["consumer"].add(TaskLeases)

# Request ids travel from the request that queued a task into the task's log lines.
celery_signals_connect()
# /healthz and /readyz of the worker on HANGAR_WORKER_HEALTH_PORT (hangar.observability.worker_health).
worker_health_connect()


def _json_logging(**_: Any) -> None:
    """With HANGAR_LOG_FORMAT=json the worker logs as the web processes do (Django's LOGGING), not Celery's way."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)


if os.environ.get("HANGAR_LOG_FORMAT", "json" if os.environ.get("HANGAR_ENV") == "production" else "text") == "json":
    setup_logging.connect(_json_logging, weak=False)
