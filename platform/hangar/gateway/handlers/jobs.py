"""``/jobs`` and ``/cloud_code/jobs`` (Parse Server's FunctionsRouter and CloudCodeRouter): master key only.

``POST /jobs/:name`` (or ``POST /jobs`` with ``jobName`` in the body, as the Parse
Dashboard's "Run now" sends) answers ``{}`` at once with the run's ``_JobStatus`` id in
``X-Parse-Job-Status-Id``; a Celery worker runs it. ``/cloud_code/jobs`` lists, creates,
edits and deletes the app's schedules (hangar.cloudcode.schedules).
"""

from __future__ import annotations

from typing import Any

from hangar.cloudcode import schedules
from hangar.cloudcode.jobs import invalid_job, job_start
from hangar.gateway.auth import AuthContext, require_master
from hangar.gateway.request import ParseRequest
from hangar.gateway.responses import ParseResponse


async def run(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    require_master(auth)
    job_params: dict[str, Any] = request.params()  # Parse Server passes body and query string alike
    name = params.get("name") or job_params.get("jobName")
    if not isinstance(name, str) or not name:
        raise invalid_job()
    status_id = await job_start(caller=auth.caller, name=name, params=job_params)
    return ParseResponse({}, headers={"X-Parse-Job-Status-Id": status_id})


async def schedule_list(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    require_master(auth)
    return ParseResponse(await schedules.schedule_list(caller=auth.caller))


async def jobs_data(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    require_master(auth)
    return ParseResponse(await schedules.jobs_data(caller=auth.caller))


async def schedule_create(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    require_master(auth)
    return ParseResponse(await schedules.schedule_create(caller=auth.caller, body=request.body), status=201)


async def schedule_update(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    require_master(auth)
    return ParseResponse(
        await schedules.schedule_update(caller=auth.caller, schedule_id=params["objectId"], body=request.body)
    )


async def schedule_delete(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    require_master(auth)
    await schedules.schedule_delete(caller=auth.caller, schedule_id=params["objectId"])
    return ParseResponse({})


def register(router: Any) -> None:
    router.add("POST", "/jobs", run)
    router.add("POST", "/jobs/:name", run)
    router.add("GET", "/cloud_code/jobs", schedule_list)
    router.add("GET", "/cloud_code/jobs/data", jobs_data)
    router.add("POST", "/cloud_code/jobs", schedule_create)
    router.add("PUT", "/cloud_code/jobs/:objectId", schedule_update)
    router.add("DELETE", "/cloud_code/jobs/:objectId", schedule_delete)
