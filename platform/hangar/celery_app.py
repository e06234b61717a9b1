"""The Celery application; tasks are discovered in every installed Django app."""

import os

from celery import Celery

from hangar.task_leases import TaskLeases

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hangar.settings")

app = Celery("hangar")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.steps["consumer"].add(TaskLeases)
