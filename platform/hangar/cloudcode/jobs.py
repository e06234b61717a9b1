"""Cloud-code jobs: start a run (a ``_JobStatus`` row, then a Celery task) and carry it out.

A run is recorded as Parse Server records it (StatusHandler.js ``jobStatusHandler``):
``jobName``, ``source``, ``params``, ``status`` (pending → running → succeeded | failed),
``message`` (``request.message(...)`` while running, the returned string or the error at
the end) and ``finishedAt``; the row's ACL is empty, so only the master key sees it.
The handler runs in the app's sandbox like a function, with ``HANGAR_CLOUD_JOB_TIMEOUT_SECONDS``.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings

from hangar.caller import Caller
from hangar.cloudcode.data_calls import files_base
from hangar.cloudcode.invocation import invoke
from hangar.cloudcode.job_classes import JOB_STATUS_CLASS
from hangar.datastore import objects, queries
from hangar.parse_errors import OBJECT_NOT_FOUND, SCRIPT_FAILED, ParseError

logger = logging.getLogger(__name__)
MAX_MESSAGE_LENGTH = 10_000  # a status message is for people; a job's bulk output belongs in its logs


def _base(caller: Caller) -> str:
    return files_base(caller.cloud_code.application_id if caller.cloud_code else "")


def _date(moment: datetime) -> dict[str, str]:
    return {"__type": "Date", "iso": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"}


def invalid_job() -> ParseError:
    return ParseError(SCRIPT_FAILED, "Invalid job.")


async def job_start(*, caller: Caller, name: str, params: dict[str, Any], source: str = "api") -> str:
    """Record a pending run of the app's job ``name`` and queue it; returns the ``_JobStatus`` objectId."""
    code = caller.cloud_code
    if code is None or name not in code.jobs:
        raise invalid_job()
    master = dataclasses.replace(caller, is_master=True)
    body = {"jobName": name, "source": source, "status": "pending", "params": params, "ACL": {}}
    _, status_id = await objects.object_create(
        caller=master, class_name=JOB_STATUS_CLASS, body=body, files_base=_base(caller)
    )
    from hangar.cloudcode.tasks import job_run_task

    try:
        await sync_to_async(job_run_task.delay, thread_sensitive=False)(app_pk=caller.app_pk, job_status_id=status_id)
    except Exception as exc:
        # The broker is down: say so on the row rather than leave a run that will never start.
        logger.exception("job %s of app %s could not be queued", name, caller.app_pk)
        await _finish(master, status_id, "failed", "The job could not be queued; retry shortly.")
        raise ParseError(SCRIPT_FAILED, "The job could not be queued; retry shortly.", status=503) from exc
    return status_id


async def _update(caller: Caller, status_id: str, fields: dict[str, Any]) -> None:
    await objects.object_update(
        caller=caller, class_name=JOB_STATUS_CLASS, object_id=status_id, body=fields, files_base=_base(caller)
    )


async def _finish(caller: Caller, status_id: str, status: str, message: str | None) -> None:
    fields: dict[str, Any] = {"status": status, "finishedAt": _date(datetime.now(UTC))}
    if message:
        fields["message"] = message[:MAX_MESSAGE_LENGTH]
    await _update(caller, status_id, fields)


async def _status_row(caller: Caller, status_id: str) -> dict[str, Any] | None:
    try:
        row: dict[str, Any] = await queries.object_get(
            caller=caller, class_name=JOB_STATUS_CLASS, object_id=status_id, params={}, files_base=_base(caller)
        )
    except ParseError as exc:
        if exc.code == OBJECT_NOT_FOUND:
            return None
        raise
    return row


async def job_run(*, caller: Caller, status_id: str) -> str | None:
    """Carry out a pending run (``caller`` is the app's master); returns its final status, None if not run.

    Idempotent: a run that is no longer pending is not started again. One found still
    ``running`` was taken by a worker that died under it (the task is redelivered then):
    it is marked failed instead of being run twice.
    """
    row = await _status_row(caller, status_id)
    if row is None:
        return None
    if row.get("status") == "running":
        await _finish(caller, status_id, "failed", "The worker running this job stopped before it finished.")
        return "failed"
    if row.get("status") != "pending":
        return None
    name = str(row.get("jobName") or "")
    await _update(caller, status_id, {"status": "running"})
    if caller.cloud_code is None or name not in caller.cloud_code.jobs:
        await _finish(caller, status_id, "failed", "Invalid job.")
        return "failed"

    async def job_message(arguments: dict[str, Any]) -> None:
        text = arguments.get("message")
        if isinstance(text, str) and text:
            await _update(caller, status_id, {"message": text[:MAX_MESSAGE_LENGTH]})

    params = row.get("params") if isinstance(row.get("params"), dict) else {}
    try:
        outcome = await invoke(
            caller, kind="job", name=name, payload={"params": params, "jobId": status_id},
            timeout=settings.HANGAR_CLOUD_JOB_TIMEOUT_SECONDS, extra_calls={"jobMessage": job_message},
        )  # fmt: skip
    except ParseError as exc:
        await _finish(caller, status_id, "failed", exc.message)
        return "failed"
    result = outcome.get("result")
    await _finish(caller, status_id, "succeeded", result if isinstance(result, str) else None)
    return "succeeded"
