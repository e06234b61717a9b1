"""Scheduled jobs: the ``_JobSchedule`` rows the Parse Dashboard writes, and the tick that starts due runs.

A schedule is Parse's (CloudCodeRouter.js; the dashboard's Jobs page): ``jobName``,
``description``, ``params`` (a JSON object as text), ``startAfter`` (ISO date),
``daysOfWeek`` (seven flags, Sunday first), ``timeOfDay`` (``HH:MM[:SS[.mmm]]Z``, UTC) and
``repeatMinutes``; Hangar adds an optional ``cron`` (five fields, UTC), which wins when
set. Without ``repeatMinutes`` or ``cron`` a schedule runs once, at ``startAfter``.

Schedules live in the app's own ``_JobSchedule`` class, not in a beat table
(django-celery-beat): they are tenant data, written with the master key through the data
API like any object, and one periodic beat task reads them all each minute. A due
(schedule, minute) is claimed with a Redis ``SET NX`` before its run is started, so two
beat processes (or a tick retried) start it once.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from asgiref.sync import sync_to_async
from celery.schedules import crontab_parser

from hangar.caller import Caller
from hangar.cloudcode.data_calls import files_base
from hangar.cloudcode.job_classes import JOB_SCHEDULE_CLASS
from hangar.cloudcode.jobs import job_start
from hangar.datastore import objects, queries
from hangar.parse_errors import INCORRECT_TYPE, INTERNAL_SERVER_ERROR, INVALID_JSON, ParseError
from hangar.redis_async import get_redis

logger = logging.getLogger(__name__)
MINUTES_PER_DAY = 1440
# A tick looks back this many minutes besides the current one, so a late or skipped tick
# does not lose a run; the claim keeps a minute from being run twice.
CATCH_UP_MINUTES = 2
CLAIM_SECONDS = 86400
MAX_SCHEDULES_LISTED = 1000
_FIELDS = ("jobName", "description", "params", "startAfter", "daysOfWeek", "timeOfDay", "repeatMinutes", "cron")
# (name, lowest, highest) of the five cron fields, parsed by Celery's own crontab parser.
_CRON_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 6))


def _bad(message: str) -> ParseError:
    return ParseError(INCORRECT_TYPE, message)


def _not_deployed() -> ParseError:
    # Parse Server's code and words (CloudCodeRouter.js validateJobSchedule), but a 400:
    # it is the client's mistake, not a server failure (Parse answers code 1 with a 500).
    return ParseError(INTERNAL_SERVER_ERROR, "Cannot Schedule a job that is not deployed", status=400)


# --- validation ---------------------------------------------------------------------------


def cron_fields(expression: str) -> list[set[int]]:
    """The values each of the five fields allows; raises ParseError for a bad expression."""
    parts = expression.split()
    if len(parts) != len(_CRON_FIELDS):
        raise _bad("cron must have five fields: minute hour day-of-month month day-of-week.")
    values: list[set[int]] = []
    for part, (name, low, high) in zip(parts, _CRON_FIELDS, strict=True):
        try:
            allowed = crontab_parser(high + 1 - low, low).parse(part)
        except Exception as exc:  # the parser raises ValueError or its own ParseException
            raise _bad(f"cron {name} field {part!r} is invalid ({low}-{high}).") from exc
        if not allowed:
            raise _bad(f"cron {name} field {part!r} allows no value.")
        values.append(set(allowed))
    return values


def _time_of_day_minutes(value: str) -> int:
    text = value.strip().removesuffix("Z")
    parts = text.split(":")
    try:
        hour, minute = int(parts[0]), int(parts[1])
        if len(parts) > 2:
            float(parts[2])
    except (ValueError, IndexError) as exc:
        raise _bad("timeOfDay must look like HH:MM:SS.000Z (UTC).") from exc
    if not (0 <= hour < 24 and 0 <= minute < 60):
        raise _bad("timeOfDay must look like HH:MM:SS.000Z (UTC).")
    return hour * 60 + minute


def _parse_instant(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise _bad("startAfter must be an ISO 8601 date.") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _checked_params(value: Any) -> str:
    if isinstance(value, dict):
        return json.dumps(value)
    if not isinstance(value, str):
        raise _bad("params must be a JSON object (or its text).")
    try:
        parsed = json.loads(value or "{}")
    except ValueError as exc:
        raise _bad("params must be a JSON object (or its text).") from exc
    if not isinstance(parsed, dict):
        raise _bad("params must be a JSON object (or its text).")
    return value or "{}"


def _checked_field(name: str, value: Any) -> Any:
    if name in ("jobName", "description"):
        if not isinstance(value, str):
            raise _bad(f"{name} must be a string.")
        return value
    if name == "params":
        return _checked_params(value)
    if name == "startAfter":
        if not isinstance(value, str):
            raise _bad("startAfter must be an ISO 8601 date.")
        _parse_instant(value)
        return value
    if name == "daysOfWeek":
        if not isinstance(value, list) or len(value) != 7 or any(day not in (0, 1, True, False) for day in value):
            raise _bad("daysOfWeek must be seven flags (0 or 1), Sunday first.")
        return [int(day) for day in value]
    if name == "timeOfDay":
        if not isinstance(value, str):
            raise _bad("timeOfDay must look like HH:MM:SS.000Z (UTC).")
        _time_of_day_minutes(value)
        return value
    if name == "repeatMinutes":
        if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
            raise _bad("repeatMinutes must be a whole number of minutes.")
        if not 0 <= value <= MINUTES_PER_DAY:
            raise _bad(f"repeatMinutes must be between 0 and {MINUTES_PER_DAY}.")
        return int(value)
    # cron
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _bad("cron must be a string.")
    cron_fields(value)
    return " ".join(value.split())


def schedule_fields(body: Any, *, jobs: frozenset[str], creating: bool) -> dict[str, Any]:
    """The validated fields of a ``{"job_schedule": {...}}`` body."""
    schedule = body.get("job_schedule") if isinstance(body, dict) else None
    if not isinstance(schedule, dict):
        raise ParseError(INVALID_JSON, 'The body must be {"job_schedule": {...}}.')
    unknown = sorted(set(schedule) - set(_FIELDS))
    if unknown:
        raise _bad(f"Unknown job_schedule field: {unknown[0]}.")
    fields = {name: _checked_field(name, value) for name, value in schedule.items()}
    if (creating and not fields.get("jobName")) or (fields.get("jobName") and fields["jobName"] not in jobs):
        raise _not_deployed()
    if creating and not fields.get("startAfter"):
        fields["startAfter"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return fields


# --- reads and writes, with the app's master key through the data API ----------------------


def _master(caller: Caller) -> Caller:
    return dataclasses.replace(caller, is_master=True)


def _base(caller: Caller) -> str:
    return files_base(caller.cloud_code.application_id if caller.cloud_code else "")


def _jobs(caller: Caller) -> frozenset[str]:
    return caller.cloud_code.jobs if caller.cloud_code else frozenset()


async def schedule_list(*, caller: Caller) -> list[dict[str, Any]]:
    found = await queries.object_find(
        caller=_master(caller), class_name=JOB_SCHEDULE_CLASS,
        params={"limit": MAX_SCHEDULES_LISTED, "order": "createdAt"}, files_base=_base(caller),
    )  # fmt: skip
    results: list[dict[str, Any]] = found["results"]
    return results


async def jobs_data(*, caller: Caller) -> dict[str, list[str]]:
    """What the dashboard's job picker needs: the scheduled job names and the deployed ones."""
    schedules = await schedule_list(caller=caller)
    return {
        "in_use": [str(item["jobName"]) for item in schedules if item.get("jobName")],
        "jobs": sorted(_jobs(caller)),
    }


async def schedule_create(*, caller: Caller, body: Any) -> dict[str, Any]:
    fields = schedule_fields(body, jobs=_jobs(caller), creating=True)
    response, _ = await objects.object_create(
        caller=_master(caller), class_name=JOB_SCHEDULE_CLASS, body={**fields, "ACL": {}}, files_base=_base(caller)
    )
    return response


async def schedule_update(*, caller: Caller, schedule_id: str, body: Any) -> dict[str, Any]:
    fields = schedule_fields(body, jobs=_jobs(caller), creating=False)
    changes: dict[str, Any] = {
        name: value if value is not None else {"__op": "Delete"} for name, value in fields.items()
    }
    return await objects.object_update(
        caller=_master(caller), class_name=JOB_SCHEDULE_CLASS, object_id=schedule_id, body=changes,
        files_base=_base(caller),
    )  # fmt: skip


async def schedule_delete(*, caller: Caller, schedule_id: str) -> None:
    await objects.object_delete(
        caller=_master(caller), class_name=JOB_SCHEDULE_CLASS, object_id=schedule_id, files_base=_base(caller)
    )


# --- when a schedule is due ----------------------------------------------------------------


def _minute_floor(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def _cron_matches(expression: str, minute: datetime) -> bool:
    minutes, hours, days, months, weekdays = cron_fields(expression)
    weekday = (minute.weekday() + 1) % 7  # cron counts from Sunday = 0
    if minute.minute not in minutes or minute.hour not in hours or minute.month not in months:
        return False
    day_restricted = expression.split()[2] != "*"
    weekday_restricted = expression.split()[4] != "*"
    if day_restricted and weekday_restricted:  # cron's rule: either day field may match
        return minute.day in days or weekday in weekdays
    return minute.day in days and weekday in weekdays


def schedule_due_at(schedule: dict[str, Any], minute: datetime) -> bool:
    """Whether ``schedule`` has a run at ``minute`` (UTC, whole minute); a malformed row never does."""
    try:
        start = _minute_floor(_parse_instant(str(schedule.get("startAfter") or "1970-01-01T00:00:00Z")))
        if minute < start:
            return False
        if schedule.get("cron"):
            return _cron_matches(str(schedule["cron"]), minute)
        repeat = int(schedule.get("repeatMinutes") or 0)
        if repeat <= 0:
            return minute == start
        days = schedule.get("daysOfWeek") or [1] * 7
        if not days[(minute.weekday() + 1) % 7]:
            return False
        first = _time_of_day_minutes(str(schedule["timeOfDay"])) if schedule.get("timeOfDay") else 0
        offset = minute.hour * 60 + minute.minute - first
        return offset >= 0 and offset % repeat == 0
    except (ParseError, ValueError, TypeError, IndexError, KeyError):
        return False


def claim_key(app_pk: int, schedule_id: str, minute: datetime) -> str:
    return f"hangar:cloud:schedule:{app_pk}:{schedule_id}:{minute:%Y%m%dT%H%M}"


async def schedules_tick(*, now: datetime) -> list[tuple[int, str, str]]:
    """Start the runs due at ``now``'s minute (and the few before it); returns (app pk, schedule, status id)."""
    from hangar.cloudcode.selectors import job_schedules_all, master_caller_of

    current = _minute_floor(now)
    minutes = [current - timedelta(minutes=back) for back in range(CATCH_UP_MINUTES, -1, -1)]
    started: list[tuple[int, str, str]] = []
    callers: dict[int, Caller | None] = {}
    redis = get_redis()
    for app_pk, schedule_id, schedule in await sync_to_async(job_schedules_all)():
        for minute in minutes:
            if not schedule_due_at(schedule, minute):
                continue
            if not await redis.set(claim_key(app_pk, schedule_id, minute), "1", nx=True, ex=CLAIM_SECONDS):
                continue  # another beat (or an earlier tick) started this one
            if app_pk not in callers:
                callers[app_pk] = await sync_to_async(master_caller_of)(app_pk)
            status_id = await _start_scheduled(callers[app_pk], schedule_id, schedule, minute)
            if status_id:
                started.append((app_pk, schedule_id, status_id))
    return started


async def _start_scheduled(
    caller: Caller | None, schedule_id: str, schedule: dict[str, Any], minute: datetime
) -> str | None:
    if caller is None:
        return None
    try:
        params = json.loads(str(schedule.get("params") or "{}"))
        status_id = await job_start(
            caller=caller, name=str(schedule.get("jobName") or ""),
            params=params if isinstance(params, dict) else {}, source="schedule",
        )  # fmt: skip
        await objects.object_update(
            caller=caller, class_name=JOB_SCHEDULE_CLASS, object_id=schedule_id,
            body={"lastRun": int(minute.timestamp() * 1000)}, files_base=_base(caller),
        )  # fmt: skip
    except (ParseError, ValueError) as exc:  # e.g. the job is no longer deployed: the next minute is another try
        logger.warning("scheduled job %s of app %s not started: %s", schedule_id, caller.app_pk, exc)
        return None
    return status_id
