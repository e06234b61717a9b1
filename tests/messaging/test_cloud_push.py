"""Cloud code sends pushes with ``request.data.push(...)``: master scope only, same checks and record as ``/push``."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from tests.cloudcode.conftest import _stop_workers, deploy_async
from tests.messaging.conftest import ParseApp

pytestmark = pytest.mark.django_db(transaction=True)
__all__ = ["_stop_workers"]  # the cloud-code tests' fixture: each test's sandbox workers are stopped


@pytest.fixture(autouse=True)
def handed_over(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str]]:
    """The campaigns as recorded, before the engine runs them (eager Celery would run them at once):
    the hand-over is recorded instead; tests/messaging/test_push_end_to_end.py runs the engine."""
    calls: list[tuple[int, str]] = []
    monkeypatch.setattr(
        "hangar.messaging.campaigns.campaign_enqueue",
        lambda *, app_pk, push_status_id: calls.append((app_pk, push_status_id)),
    )
    return calls


BUNDLE = {
    "main.py": """
    from hangar_cloud import define, job

    @define("announce")
    def announce(request):
        return request.data.push(
            {"alert": request.params["text"], "badge": "Increment"}, channels=request.params["channels"],
            use_master=True,
        )

    @define("announceAsCaller")
    def announce_as_caller(request):
        return request.data.push({"alert": "sneaky"}, where={})

    @define("badPush")
    def bad_push(request):
        return request.data.push({"alert": "x"}, channels=["a"], where={}, use_master=True)

    @define("later")
    def later(request):
        return request.data.as_master().push({"alert": "later"}, where={"deviceType": "ios"},
                                             push_time="2031-05-01T08:00:00", expiration_interval=600)

    @job("nightlyPush")
    def nightly(request):
        return request.data.push({"alert": "nightly"}, channels=["all"])
    """
}


async def _status(app: ParseApp, status_id: str) -> dict[str, Any]:
    response = await app.request("GET", f"/classes/_PushStatus/{status_id}", master=True)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_a_function_with_the_master_scope_records_a_cloud_push(app_a: ParseApp) -> None:
    await deploy_async(app_a.tenant, BUNDLE)
    called = await app_a.request("POST", "/functions/announce", {"text": "Hi", "channels": ["news"]})
    assert called.status_code == 200, called.text
    row = await _status(app_a, called.json()["result"])
    assert (row["source"], row["status"]) == ("cloud", "pending")  # recorded, handed over (the fixture above)
    assert orjson.loads(row["query"]) == {"channels": {"$in": ["news"]}}
    assert orjson.loads(row["payload"]) == {"alert": "Hi", "badge": "Increment"}
    scheduled = await app_a.request("POST", "/functions/later", {})
    row = await _status(app_a, scheduled.json()["result"])
    assert (row["status"], row["pushTime"], row["expiration_interval"]) == ("scheduled", "2031-05-01T08:00:00.000", 600)


async def test_without_the_master_scope_or_with_a_bad_request_nothing_is_recorded(app_a: ParseApp) -> None:
    await deploy_async(app_a.tenant, BUNDLE)
    denied = await app_a.request("POST", "/functions/announceAsCaller", {})
    assert denied.json() == {"code": 119, "error": "Sending a push requires the master key (use_master=True)."}
    # With the master scope, the request is checked exactly as POST /push checks it.
    bad = await app_a.request("POST", "/functions/badPush", {})
    assert bad.json() == {"code": 115, "error": "Channels and query can not be set at the same time."}
    assert (await app_a.request("GET", "/classes/_PushStatus", master=True)).json() == {"results": []}


async def test_a_job_pushes_with_its_master_scope(app_a: ParseApp) -> None:
    await deploy_async(app_a.tenant, BUNDLE)
    started = await app_a.request("POST", "/jobs/nightlyPush", {}, master=True)
    assert started.status_code == 200, started.text
    job = (
        await app_a.request("GET", f"/classes/_JobStatus/{started.headers['x-parse-job-status-id']}", master=True)
    ).json()
    assert job["status"] == "succeeded", job  # Celery runs eagerly in tests; the job's result is the status id
    row = await _status(app_a, job["message"])
    assert (row["source"], orjson.loads(row["payload"])) == ("cloud", {"alert": "nightly"})


async def test_a_bundle_reaches_only_its_own_apps_installations_and_statuses(app_a: ParseApp, app_b: ParseApp) -> None:
    await deploy_async(app_a.tenant, BUNDLE)
    called = await app_a.request("POST", "/functions/announce", {"text": "A", "channels": ["x"]})
    status_id = called.json()["result"]
    assert (await app_b.request("GET", f"/classes/_PushStatus/{status_id}", master=True)).json()["code"] == 101
    assert (await app_b.request("GET", "/classes/_PushStatus", master=True)).json() == {"results": []}
    assert (await app_b.request("POST", "/functions/announce", {"text": "B", "channels": ["x"]})).json()["code"] == 141
