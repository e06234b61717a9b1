"""Celery tasks of the tenants domain."""

from __future__ import annotations

from celery import shared_task

from tenants.services import app_purge
from tenants.services.apps import apps_awaiting_purge


@shared_task(name="tenants.purge_app", bind=True, max_retries=5, default_retry_delay=30)
def purge_app(self, *, app_pk: int) -> bool:  # type: ignore[no-untyped-def]
    """Remove a deleted app's data, partitions, keys and files (idempotent)."""
    return app_purge(app_pk=app_pk)


@shared_task(name="tenants.purge_deleted_apps")
def purge_deleted_apps() -> int:
    """Sweep: purge apps marked for deletion whose purge task was lost (broker down, worker crash)."""
    return sum(1 for app_pk in apps_awaiting_purge() if app_purge(app_pk=app_pk))
