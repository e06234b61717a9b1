"""The Celery application; tasks are discovered in every installed Django app."""

import os

from celery import Celery

from hangar.task_leases import TaskLeases

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hangar.settings")

app = Celery("hangar")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Messaging's SMS and email delivery task lives beside its push tasks, not in its tasks module.
app.autodiscover_tasks(["hangar.messaging"], related_name="send_tasks")
app.steps["consumer"].add(TaskLeases)
