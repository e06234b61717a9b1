"""Celery tasks of cloud code: run a job, and the scheduler's tick that starts due scheduled jobs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from celery import shared_task
from django.conf import settings

from hangar.task_loop import run_in_own_loop

T = TypeVar("T")


# The sandbox ends the handler at the job timeout; the margin covers starting the worker and
# writing the status. Task leases (hangar.task_leases) keep a long job from being redelivered.
@shared_task(name="cloudcode.job_run", time_limit=int(settings.HANGAR_CLOUD_JOB_TIMEOUT_SECONDS) + 120)
def job_run_task(*, app_pk: int, job_status_id: str) -> str | None:
    """Run one pending job of an app (idempotent: hangar.cloudcode.jobs.job_run)."""
    from hangar.cloudcode.jobs import job_run
    from hangar.cloudcode.selectors import master_caller_of

    async def work() -> str | None:
        caller = await sync_to_async(master_caller_of)(app_pk)
        if caller is None:  # the app was deleted or suspended meanwhile
            return None
        return await job_run(caller=caller, status_id=job_status_id)

    return run_in_own_loop(work)


@shared_task(name="cloudcode.job_schedules_tick", time_limit=300, ignore_result=True)
def job_schedules_tick_task(*, now: str | None = None) -> list[Any]:
    """Start every scheduled job due in the current minute (hangar.cloudcode.schedules.schedules_tick)."""
    from hangar.cloudcode.schedules import schedules_tick

    moment = datetime.fromisoformat(now) if now else datetime.now(UTC)
    return run_in_own_loop(lambda: schedules_tick(now=moment))
