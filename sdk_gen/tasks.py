"""Celery tasks of SDK generation: the compiled packages of a schema snapshot, built off the request path."""

from __future__ import annotations

from celery import shared_task

from sdk_gen.compilers import COMPILE_TIMEOUT_SECONDS
from sdk_gen.services import sdk_snapshot_packages_build


# Two compilers side by side, each with its own deadline, plus the archives: the limit leaves room.
@shared_task(name="sdk_gen.packages_build", time_limit=3 * COMPILE_TIMEOUT_SECONDS)
def packages_build(*, snapshot_id: int) -> list[str]:
    """Build and store the missing packages of one snapshot; idempotent (stored ones are kept)."""
    return sdk_snapshot_packages_build(snapshot_id=snapshot_id)
