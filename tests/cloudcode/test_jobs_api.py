"""Cloud-code jobs and schedules through the Parse REST API: runs, statuses, schedules, the beat tick, isolation.

Celery runs eagerly in tests (settings_test), with the same task entry points a worker uses:
``POST /jobs`` answers once the run is recorded, and by then the eager task has run it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from hangar.cloudcode.schedules import schedule_due_at
from hangar.cloudcode.tasks import job_schedules_tick_task
from tests.cloudcode.conftest import deploy_async
from tests.datastore.conftest import ParseApp, insert_user_with_session

pytestmark = pytest.mark.django_db(transaction=True)

JOBS = {
    "main.py": """
    import time
    from hangar_cloud import define, job, ParseError

    @job("tally")
    def tally(request):
        request.message("halfway")
        request.log.info("tallying", request.params.get("n"))
        return f"counted {request.params.get('n', 0)} as job {request.job_id}"

    @job("progress")
    async def progress(request):
        request.message("step 2 of 2")
        return {"not": "a string"}

    @job("boom")
    def boom(request):
        raise ParseError(142, "boom failed")

    @job("crash")
    def crash(request):
        return 1 / 0

    @job("slow")
    def slow(request):
        time.sleep(30)

    @define("hello")
    def hello(request):
        return "hi"
    """
}


async def run_job(app: ParseApp, name: str, params: dict[str, Any] | None = None) -> str:
    response = await app.request("POST", f"/jobs/{name}", params or {}, master=True)
    assert (response.status_code, response.json()) == (200, {}), response.text
    return response.headers["x-parse-job-status-id"]


async def job_status(app: ParseApp, status_id: str) -> dict[str, Any]:
    response = await app.request("GET", f"/classes/_JobStatus/{status_id}", master=True)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_job_runs_and_its_status_says_how_it_went(app_a: ParseApp):
    await deploy_async(app_a.tenant, JOBS)
    status_id = await run_job(app_a, "tally", {"n": 3})
    status = await job_status(app_a, status_id)
    assert status["status"] == "succeeded"
    assert status["message"] == f"counted 3 as job {status_id}"
    assert (status["jobName"], status["source"], status["params"]) == ("tally", "api", {"n": 3})
    assert status["finishedAt"]["__type"] == "Date"
    assert status["createdAt"] <= status["finishedAt"]["iso"]
    # request.message() while running stays when the job returns no text
    progress = await job_status(app_a, await run_job(app_a, "progress"))
    assert (progress["status"], progress["message"]) == ("succeeded", "step 2 of 2")


async def test_the_dashboards_run_now_names_the_job_in_the_body(app_a: ParseApp):
    await deploy_async(app_a.tenant, JOBS)
    body = {"description": "Executing from job schedule web console.", "input": {"n": 1}, "jobName": "tally", "when": 0}
    response = await app_a.request("POST", "/jobs", body, master=True)
    assert response.status_code == 200, response.text
    status = await job_status(app_a, response.headers["x-parse-job-status-id"])
    assert (status["status"], status["params"]["input"]) == ("succeeded", {"n": 1})


async def test_failing_jobs_are_marked_failed_with_their_error(app_a: ParseApp):
    await deploy_async(app_a.tenant, JOBS)
    boom = await job_status(app_a, await run_job(app_a, "boom"))
    assert (boom["status"], boom["message"]) == ("failed", "boom failed")
    assert "finishedAt" in boom
    crash = await job_status(app_a, await run_job(app_a, "crash"))
    assert crash["status"] == "failed"
    assert "division by zero" in crash["message"]


async def test_a_job_past_its_timeout_fails(app_a: ParseApp, settings: Any):
    settings.HANGAR_CLOUD_JOB_TIMEOUT_SECONDS = 1.0
    await deploy_async(app_a.tenant, JOBS)
    slow = await job_status(app_a, await run_job(app_a, "slow"))
    assert (slow["status"], slow["message"]) == ("failed", "Execution timed out after 1 s.")


async def test_unknown_jobs_and_apps_without_code_are_refused(app_a: ParseApp, app_b: ParseApp):
    no_code = await app_b.request("POST", "/jobs/tally", {}, master=True)
    assert (no_code.status_code, no_code.json()) == (400, {"code": 141, "error": "Invalid job."})
    await deploy_async(app_a.tenant, JOBS)
    unknown = await app_a.request("POST", "/jobs/nope", {}, master=True)
    assert unknown.json() == {"code": 141, "error": "Invalid job."}
    # a function is not a job
    function = await app_a.request("POST", "/jobs/hello", {}, master=True)
    assert function.json() == {"code": 141, "error": "Invalid job."}
    assert (await app_a.request("GET", "/classes/_JobStatus", master=True)).json() == {"results": []}


async def test_clients_can_neither_run_jobs_nor_read_or_write_job_classes(app_a: ParseApp):
    await deploy_async(app_a.tenant, JOBS)
    status_id = await run_job(app_a, "tally")
    _, token = await sync_to_async(insert_user_with_session)(app_a.tenant, "mallory")
    for session in (None, token):
        run = await app_a.request("POST", "/jobs/tally", {}, session=session)
        assert (run.status_code, run.json()) == (403, {"error": "unauthorized: master key is required"})
        for method, path, body in (
            ("GET", "/classes/_JobStatus", None),
            ("GET", f"/classes/_JobStatus/{status_id}", None),
            ("PUT", f"/classes/_JobStatus/{status_id}", {"status": "succeeded"}),
            ("DELETE", f"/classes/_JobStatus/{status_id}", None),
            ("POST", "/classes/_JobStatus", {"jobName": "tally", "status": "running"}),
            ("GET", "/classes/_JobSchedule", None),
            ("POST", "/classes/_JobSchedule", {"jobName": "tally"}),
        ):
            denied = await app_a.request(method, path, body, session=session)
            assert denied.json()["code"] == 119, (method, path, denied.text)
        for method, path in (
            ("GET", "/cloud_code/jobs"),
            ("GET", "/cloud_code/jobs/data"),
            ("POST", "/cloud_code/jobs"),
            ("GET", "/releases/latest"),
            ("GET", "/scripts/main.py"),
            ("GET", "/scriptlog"),
        ):
            denied = await app_a.request(method, path, {"job_schedule": {"jobName": "tally"}}, session=session)
            assert denied.status_code == 403, (method, path, denied.text)
    assert (await job_status(app_a, status_id))["status"] == "succeeded"  # untouched


async def test_another_apps_master_key_reaches_nothing_of_this_apps_jobs(app_a: ParseApp, app_b: ParseApp):
    await deploy_async(app_a.tenant, JOBS)
    status_id = await run_job(app_a, "tally")
    created = await app_a.request("POST", "/cloud_code/jobs", {"job_schedule": {"jobName": "tally"}}, master=True)
    schedule_id = created.json()["objectId"]
    assert (await app_b.request("GET", f"/classes/_JobStatus/{status_id}", master=True)).json()["code"] == 101
    assert (await app_b.request("GET", "/classes/_JobStatus", master=True)).json() == {"results": []}
    assert (await app_b.request("POST", "/jobs/tally", {}, master=True)).json()["code"] == 141
    assert (await app_b.request("GET", "/cloud_code/jobs", master=True)).json() == []
    assert (await app_b.request("GET", "/cloud_code/jobs/data", master=True)).json() == {"in_use": [], "jobs": []}
    edit = await app_b.request(
        "PUT", f"/cloud_code/jobs/{schedule_id}", {"job_schedule": {"description": "x"}}, master=True
    )
    assert edit.json()["code"] == 101
    assert (await app_b.request("DELETE", f"/cloud_code/jobs/{schedule_id}", master=True)).json()["code"] == 101
    assert (await app_b.request("GET", "/releases/latest", master=True)).json() == []
    assert (await app_b.request("GET", "/scripts/main.py", master=True)).status_code == 404
    # app B deploying a job of the same name runs its own, never app A's
    await deploy_async(
        app_b.tenant, {"main.py": "from hangar_cloud import job\n\n@job('tally')\ndef t(r):\n    return 'B'\n"}
    )
    b_status = await job_status(app_b, await run_job(app_b, "tally"))
    assert b_status["message"] == "B"
    assert [item["message"] for item in (await app_a.request("GET", "/classes/_JobStatus", master=True)).json()[
        "results"
    ]] == [f"counted 0 as job {status_id}"]  # fmt: skip
    listed = (await app_a.request("GET", "/cloud_code/jobs", master=True)).json()
    assert [item["objectId"] for item in listed] == [schedule_id]


async def test_schedules_are_created_listed_edited_and_deleted(app_a: ParseApp):
    assert (await app_a.request("GET", "/cloud_code/jobs", master=True)).json() == []
    assert (await app_a.request("GET", "/cloud_code/jobs/data", master=True)).json() == {"in_use": [], "jobs": []}
    await deploy_async(app_a.tenant, JOBS)
    data = (await app_a.request("GET", "/cloud_code/jobs/data", master=True)).json()
    assert data == {"in_use": [], "jobs": ["boom", "crash", "progress", "slow", "tally"]}
    schedule = {
        "jobName": "tally", "description": "nightly tally", "params": '{"n": 5}', "daysOfWeek": [1, 1, 1, 1, 1, 1, 1],
        "timeOfDay": "03:15:00.000Z", "repeatMinutes": 1440,
    }  # fmt: skip
    created = await app_a.request("POST", "/cloud_code/jobs", {"job_schedule": schedule}, master=True)
    assert created.status_code == 201, created.text
    schedule_id = created.json()["objectId"]
    listed = (await app_a.request("GET", "/cloud_code/jobs", master=True)).json()
    assert len(listed) == 1
    assert {key: listed[0][key] for key in schedule} == schedule
    assert listed[0]["startAfter"]  # Parse fills it in: from now on
    data = (await app_a.request("GET", "/cloud_code/jobs/data", master=True)).json()
    assert data["in_use"] == ["tally"]
    edit = {"job_schedule": {"description": "hourly", "repeatMinutes": 60, "cron": "5 * * * 1-5"}}
    edited = await app_a.request("PUT", f"/cloud_code/jobs/{schedule_id}", edit, master=True)
    assert edited.status_code == 200, edited.text
    after = (await app_a.request("GET", "/cloud_code/jobs", master=True)).json()[0]
    assert (after["description"], after["repeatMinutes"], after["cron"]) == ("hourly", 60, "5 * * * 1-5")
    deleted = await app_a.request("DELETE", f"/cloud_code/jobs/{schedule_id}", master=True)
    assert (deleted.status_code, deleted.json()) == (200, {})
    assert (await app_a.request("GET", "/cloud_code/jobs", master=True)).json() == []
    missing = await app_a.request("DELETE", f"/cloud_code/jobs/{schedule_id}", master=True)
    assert missing.json()["code"] == 101


@pytest.mark.parametrize(
    ("body", "code", "error"),
    [
        ({"job_schedule": {"jobName": "nope"}}, 1, "Cannot Schedule a job that is not deployed"),
        ({"job_schedule": {"description": "no job"}}, 1, "Cannot Schedule a job that is not deployed"),
        ({"jobName": "tally"}, 107, 'The body must be {"job_schedule": {...}}.'),
        (
            {"job_schedule": {"jobName": "tally", "cron": "61 * * * *"}},
            111,
            "cron minute field '61' is invalid (0-59).",
        ),
        ({"job_schedule": {"jobName": "tally", "cron": "* * *"}}, 111, None),
        ({"job_schedule": {"jobName": "tally", "timeOfDay": "25:00"}}, 111, None),
        ({"job_schedule": {"jobName": "tally", "repeatMinutes": -5}}, 111, None),
        ({"job_schedule": {"jobName": "tally", "params": "[1, 2]"}}, 111, None),
        ({"job_schedule": {"jobName": "tally", "startAfter": "tomorrow"}}, 111, None),
        ({"job_schedule": {"jobName": "tally", "daysOfWeek": [1, 1]}}, 111, None),
        ({"job_schedule": {"jobName": "tally", "sneaky": 1}}, 111, "Unknown job_schedule field: sneaky."),
    ],
)
async def test_bad_schedules_are_refused_with_a_parse_error(app_a: ParseApp, body: Any, code: int, error: str | None):
    await deploy_async(app_a.tenant, JOBS)
    response = await app_a.request("POST", "/cloud_code/jobs", body, master=True)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == code
    if error:
        assert response.json()["error"] == error
    assert (await app_a.request("GET", "/cloud_code/jobs", master=True)).json() == []


def test_when_a_schedule_is_due():
    at = datetime(2026, 3, 4, 12, 30, tzinfo=UTC)  # a Wednesday
    once = {"startAfter": "2026-03-04T12:30:40.000Z"}
    assert schedule_due_at(once, at)
    assert not schedule_due_at(once, at.replace(minute=31))
    every_15 = {"startAfter": "2026-01-01T00:00:00Z", "timeOfDay": "00:00:00.000Z", "repeatMinutes": 15}
    assert schedule_due_at(every_15, at)
    assert not schedule_due_at(every_15, at.replace(minute=31))
    not_wednesday = {**every_15, "daysOfWeek": [1, 1, 1, 0, 1, 1, 1]}
    assert not schedule_due_at(not_wednesday, at)
    later_start = {**every_15, "timeOfDay": "13:00:00.000Z"}
    assert not schedule_due_at(later_start, at)
    assert not schedule_due_at({**every_15, "startAfter": "2026-03-05T00:00:00Z"}, at)
    assert schedule_due_at({"cron": "30 12 * * 3"}, at)
    assert not schedule_due_at({"cron": "30 12 * * 4"}, at)
    assert schedule_due_at({"cron": "*/10 12 4 3 *"}, at)
    assert schedule_due_at({"cron": "30 12 1 * 3"}, at)  # day of month or day of week, as cron
    assert not schedule_due_at({"cron": "not a cron"}, at)


async def test_the_beat_tick_starts_a_due_schedule_exactly_once(app_a: ParseApp, app_b: ParseApp):
    await deploy_async(app_a.tenant, JOBS)
    schedule = {"jobName": "tally", "params": '{"n": 7}', "cron": "30 12 * * *", "startAfter": "2026-01-01T00:00:00Z"}
    created = await app_a.request("POST", "/cloud_code/jobs", {"job_schedule": schedule}, master=True)
    schedule_id = created.json()["objectId"]
    not_due = await app_a.request(
        "POST", "/cloud_code/jobs", {"job_schedule": {**schedule, "cron": "31 12 * * *"}}, master=True
    )
    assert not_due.status_code == 201

    def tick(now: str) -> list[Any]:
        return job_schedules_tick_task.apply(kwargs={"now": now}).get()  # type: ignore[no-any-return]

    first = await sync_to_async(tick, thread_sensitive=False)("2026-03-04T12:30:05+00:00")
    second = await sync_to_async(tick, thread_sensitive=False)(
        "2026-03-04T12:30:40+00:00"
    )  # a second beat, same minute
    third = await sync_to_async(tick, thread_sensitive=False)(
        "2026-03-04T12:31:02+00:00"
    )  # the next minute looks back at 12:30
    assert [(app, schedule) for app, schedule, _ in first] == [(app_a.tenant.app.pk, schedule_id)]
    assert second == []
    assert len(third) == 1
    assert third[0][1] == not_due.json()["objectId"]
    statuses = (await app_a.request("GET", "/classes/_JobStatus", master=True)).json()["results"]
    assert sorted((s["source"], s["status"], s["params"]["n"]) for s in statuses) == [
        ("schedule", "succeeded", 7),
        ("schedule", "succeeded", 7),
    ]
    listed = {item["objectId"]: item for item in (await app_a.request("GET", "/cloud_code/jobs", master=True)).json()}
    assert listed[schedule_id]["lastRun"] == int(datetime(2026, 3, 4, 12, 30, tzinfo=UTC).timestamp() * 1000)
    assert (await app_b.request("GET", "/classes/_JobStatus", master=True)).json() == {"results": []}


async def test_logs_releases_and_scripts_for_the_dashboard(app_a: ParseApp):
    assert (await app_a.request("GET", "/releases/latest", master=True)).json() == []
    version = await deploy_async(app_a.tenant, JOBS)
    await run_job(app_a, "tally", {"n": 2})
    release = (await app_a.request("GET", "/releases/latest", master=True)).json()
    assert len(release) == 1
    assert release[0]["version"] == version.number
    import json

    assert set(json.loads(release[0]["checksums"])) == {"main.py"}
    assert json.loads(release[0]["userFiles"]) == {"main.py": version.number}
    source = await app_a.request("GET", "/scripts/main.py", master=True, params={"version": "1", "checksum": "x"})
    assert '@job("tally")' in source.json()
    info = (await app_a.request("GET", "/scriptlog", master=True, params={"level": "info", "n": "100"})).json()
    messages = [entry["message"] for entry in info]
    assert "tallying 2" in messages
    assert any(message.startswith("job tally ran in") for message in messages)
    assert all(set(entry) == {"level", "message", "timestamp"} and entry["level"] == "info" for entry in info)
    await run_job(app_a, "boom")
    errors = (await app_a.request("GET", "/scriptlog", master=True, params={"level": "error"})).json()
    assert errors
    assert errors[0]["message"].startswith("job boom failed")
    assert "boom failed" in errors[0]["message"]
    one = (await app_a.request("GET", "/scriptlog", master=True, params={"level": "info", "size": "1"})).json()
    assert len(one) == 1
    bad = await app_a.request("GET", "/scriptlog", master=True, params={"order": "sideways"})
    assert bad.json()["code"] == 102


async def test_server_info_advertises_jobs_and_logs(app_a: ParseApp):
    features = (await app_a.request("GET", "/serverInfo", master=True)).json()["features"]
    assert features["cloudCode"] == {"jobs": True, "viewCode": True}
    assert features["logs"] == {"level": True, "size": True, "order": True, "until": True, "from": True}
