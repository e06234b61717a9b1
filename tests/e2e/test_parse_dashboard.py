"""The official Parse Dashboard (npm ``parse-dashboard`` 9.2) manages a Hangar app's cloud code and push unchanged.

The dashboard's own server runs as a subprocess on a free loopback port, pointed at the
session's live server; Debian's chromium, driven by Playwright, walks its Jobs, Logs and
Cloud Code and Webhooks pages: the deployed job is listed, scheduled, run now and shown
succeeded; the Logs page shows the job's log line; the Cloud Code page lists ``main.py``;
a function webhook is created from the Webhooks page. Its Push pages list a saved audience
with its live count, send a push that reaches the local FCM HTTP v1 server (through the
real adapter, from a live server whose egress may reach loopback) and list the campaign.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from hangar.cloudcode.tasks import job_schedules_tick_task
from hangar.messaging.provider_credentials import provider_credential_set
from tests.cloudcode.conftest import deploy
from tests.conftest import REPO_DIR, LiveServer, Tenant, _free_port, start_live_server, stop_live_server
from tests.e2e.test_browser_dashboard import CHROMIUM, CHROMIUM_ARGS
from tests.messaging.endpoints.fcm import FcmEndpoint

NODE = shutil.which("node")
DASHBOARD_BIN = REPO_DIR / "node_modules" / "parse-dashboard" / "bin" / "parse-dashboard"
APP_NAME = "HangarJobs"
SCREENSHOTS = REPO_DIR / "var" / "screenshots"
START_TIMEOUT_SECONDS = 30

BUNDLE = {
    "main.py": """
    from hangar_cloud import define, job

    @job("nightlyReport")
    def nightly_report(request):
        request.log.info("nightly report for", request.params.get("input", {}).get("team", "everyone"))
        request.message("report half written")
        return "report written"

    @define("hello")
    def hello(request):
        return "hi"
    """
}


def _start_dashboard(server_url: str, tenant: Tenant, log_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    config = {
        "apps": [
            {
                "serverURL": f"{server_url}/parse", "appId": tenant.application_id,
                "masterKey": tenant.keys["master"], "appName": APP_NAME,
            }
        ]
    }  # fmt: skip
    config_path = log_path.with_suffix(".json")
    config_path.write_text(json.dumps(config))
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [NODE or "node", str(DASHBOARD_BIN), "--dev", "--config", str(config_path),
             "--host", "127.0.0.1", "--port", str(port)],
            stdout=log, stderr=subprocess.STDOUT, cwd=REPO_DIR,
            env={**os.environ, "NODE_ENV": "production"},
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while True:
        try:
            if httpx.get(f"{url}/", timeout=1).status_code < 500:
                return process, url
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"parse-dashboard did not start:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.3)


@pytest.fixture
def dashboard(live_server: LiveServer, tenant_a: Tenant) -> Iterator[str]:
    yield from _dashboard_for(live_server, tenant_a)


def _dashboard_for(live_server: LiveServer, tenant_a: Tenant) -> Iterator[str]:
    if NODE is None or not DASHBOARD_BIN.exists():
        pytest.skip("node or the parse-dashboard npm package is missing (make setup)")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make browser)")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    process, url = _start_dashboard(live_server.url, tenant_a, SCREENSHOTS.parent / "parse-dashboard.log")
    try:
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _shot(page: Page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"parse-dashboard-{name}.png"), full_page=True)


def _api(live_server: LiveServer, tenant: Tenant, method: str, path: str) -> Any:
    response = httpx.request(
        method, f"{live_server.url}/parse{path}", timeout=10,
        headers={"X-Parse-Application-Id": tenant.application_id, "X-Parse-Master-Key": tenant.keys["master"]},
    )  # fmt: skip
    response.raise_for_status()
    return response.json()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_jobs_logs_and_cloud_code_pages(dashboard: str, live_server: LiveServer, tenant_a: Tenant) -> None:
    tenant = tenant_a
    deploy(tenant, BUNDLE)
    app_url = f"{dashboard}/apps/{APP_NAME}"
    page_errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(20_000)
            page.on("pageerror", lambda error: page_errors.append(str(error)))

            page.goto(f"{app_url}/jobs/all")
            row = page.locator("tr", has_text="nightlyReport")
            expect(row).to_be_visible()
            row.get_by_text("Run...").click()
            dialog = page.locator("div", has=page.get_by_text("Run nightlyReport")).filter(has=page.locator("textarea"))
            dialog.last.locator("textarea").fill('{"team": "ops"}')
            _shot(page, "run-dialog")
            page.get_by_role("button", name="Run", exact=True).click()
            expect(row.get_by_text("Success!")).to_be_visible()
            _shot(page, "jobs-all")

            page.goto(f"{app_url}/jobs/new")
            page.get_by_placeholder("Pick a good name").wait_for()
            page.get_by_placeholder("Pick a good name").fill("Nightly report")
            page.get_by_role("combobox").click()
            page.get_by_role("option", name="nightlyReport").click()
            page.get_by_placeholder("{").fill('{"team": "ops"}')
            _shot(page, "jobs-new")
            page.get_by_role("button", name="Schedule").click()
            page.wait_for_url(f"{app_url}/jobs/scheduled")
            expect(page.locator("tr", has_text="Nightly report")).to_be_visible()
            _shot(page, "jobs-scheduled")
            schedules = _api(live_server, tenant, "GET", "/cloud_code/jobs")
            assert [(item["description"], item["jobName"], item["params"]) for item in schedules] == [
                ("Nightly report", "nightlyReport", '{"team": "ops"}')
            ]

            # The beat's tick (run here as a worker would run it) starts the schedule, due now.
            # (In a thread of its own: Playwright's sync API holds an event loop in this one.)
            with ThreadPoolExecutor(1) as pool:
                tick = job_schedules_tick_task.apply
                started = pool.submit(lambda: tick(kwargs={"now": datetime.now(UTC).isoformat()}).get()).result()
            assert [schedule_id for _, schedule_id, _ in started] == [schedules[0]["objectId"]]
            statuses = _api(live_server, tenant, "GET", "/classes/_JobStatus")["results"]
            assert sorted((s["source"], s["status"], s["message"]) for s in statuses) == [
                ("api", "succeeded", "report written"),
                ("schedule", "succeeded", "report written"),
            ]
            page.goto(f"{app_url}/jobs/status")
            rows = page.locator("tr", has_text="nightlyReport")
            expect(rows).to_have_count(2)
            expect(rows.filter(has_text="succeeded")).to_have_count(2)
            expect(rows.first).to_contain_text("report written")
            _shot(page, "jobs-status")

            page.goto(f"{app_url}/logs/info")
            expect(page.get_by_text("nightly report for ops").first).to_be_visible()
            _shot(page, "logs")

            page.goto(f"{app_url}/cloud_code/main.py")
            # The page lists the active bundle's files (from /releases/latest). 9.2 never requests
            # a file's source: it reads the file from params.splat, which react-router 6 does not
            # set (docs/cloudcode.md, Jobs); /scripts/main.py is tested in test_jobs_api.py.
            expect(page.get_by_role("link", name="main.py")).to_be_visible()
            _shot(page, "cloud-code")

            # Webhooks: a function webhook on a public address (registration resolves and
            # checks it against the egress policy; nothing is sent until the function is called).
            page.goto(f"{app_url}/webhooks")
            page.get_by_text("Create a Webhook").first.click()
            page.get_by_placeholder("MyWebhook").fill("reportHook")
            page.locator('input[value="https://"]').fill("https://93.184.216.34/hook")
            _shot(page, "webhook-new")
            page.get_by_role("button", name="Create", exact=True).click()
            expect(page.locator("tr", has_text="reportHook")).to_be_visible()
            _shot(page, "webhooks")
            hooks = _api(live_server, tenant, "GET", "/hooks/functions")
            assert hooks == [{"functionName": "reportHook", "url": "https://93.184.216.34/hook"}]
        finally:
            _shot(page, "last")
            browser.close()
    assert page_errors == []


def _parse_post(live_server: LiveServer, tenant: Tenant, path: str, body: dict[str, Any]) -> Any:
    response = httpx.post(
        f"{live_server.url}/parse{path}", json=body, timeout=10,
        headers={"X-Parse-Application-Id": tenant.application_id, "X-Parse-Master-Key": tenant.keys["master"]},
    )  # fmt: skip
    response.raise_for_status()
    return response.json()


@pytest.fixture
def push_server(live_server: LiveServer, tenant_a: Tenant) -> Iterator[tuple[LiveServer, FcmEndpoint]]:
    """A live server whose egress may reach the local FCM server (loopback), and that server as the app's FCM.

    The session's live server keeps the production egress policy (loopback refused), so the
    push test has a server of its own; Celery runs eagerly in it, as in every test server.
    """
    fcm = FcmEndpoint().start()
    raw = {"service_account": fcm.service_account(), "base_url": fcm.url}
    provider_credential_set(app=tenant_a.app, kind="fcm", raw=raw, actor=None)
    server = start_live_server({"HANGAR_EGRESS_ALLOW_PRIVATE": "127.0.0.1/32"}, log_name="push-live-server.log")
    try:
        yield server, fcm
    finally:
        stop_live_server(server)
        fcm.stop()


@pytest.fixture
def push_dashboard(push_server: tuple[LiveServer, FcmEndpoint], tenant_a: Tenant) -> Iterator[str]:
    yield from _dashboard_for(push_server[0], tenant_a)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_push_pages_send_list_and_show_audiences(
    push_dashboard: str, push_server: tuple[LiveServer, FcmEndpoint], tenant_a: Tenant
) -> None:
    """The Push pages (send, activity, audiences) load against Hangar; a send from them reaches the FCM server."""
    dashboard, (live_server, fcm) = push_dashboard, push_server
    tenant = tenant_a
    for number, (device_type, channels) in enumerate([("ios", ["news"]), ("android", ["news", "sport"])]):
        _parse_post(
            live_server, tenant, "/installations",
            {"installationId": f"dash-{number}", "deviceType": device_type, "deviceToken": f"device-token-{number}",
             "channels": channels},
        )  # fmt: skip
    _parse_post(live_server, tenant, "/push_audiences", {"name": "Sport fans", "query": '{"channels": "sport"}'})
    app_url = f"{dashboard}/apps/{APP_NAME}"
    page_errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(20_000)
            page.on("pageerror", lambda error: page_errors.append(f"{page.url} {str(error)[:40]}"))

            page.goto(f"{app_url}/push/audiences")
            expect(page.locator("tr", has_text="Sport fans")).to_be_visible()
            _shot(page, "push-audiences")

            page.goto(f"{app_url}/push/new")
            # The audience picker lists the saved audience and counts "everyone" with a live installation count.
            expect(page.get_by_role("radio", name=re.compile(r"^Everyone 2 "))).to_be_attached()
            expect(page.get_by_role("radio", name=re.compile(r"^Sport fans .* 1 "))).to_be_attached()
            page.get_by_text("Everyone", exact=True).first.click()
            page.get_by_placeholder("Type your message").first.fill("Hello from the Parse Dashboard")
            expect(page.get_by_role("alert")).to_contain_text("It will be sent immediately")
            _shot(page, "push-new")
            page.get_by_role("button", name="Send push").click()
            deadline = time.monotonic() + 20
            while not (statuses := _api(live_server, tenant, "GET", "/classes/_PushStatus")["results"]):
                assert time.monotonic() < deadline, "the dashboard's send recorded no _PushStatus"
                time.sleep(0.3)
            [status] = statuses
            assert json.loads(status["payload"]) == {"alert": "Hello from the Parse Dashboard"}
            assert json.loads(status["query"]) == {}
            while (status := _api(live_server, tenant, "GET", f"/classes/_PushStatus/{status['objectId']}"))[
                "status"
            ] not in {"succeeded", "failed"}:
                assert time.monotonic() < deadline, f"the campaign did not finish: {status}"
                time.sleep(0.3)
            # The android device's notification reached the FCM server once; the iOS one (no APNs
            # credentials) went to the log provider. Both count as sent.
            assert (status["status"], status["numSent"]) == ("succeeded", 2), status
            assert dict(fcm.per_token) == {"device-token-1": 1}
            [message] = fcm.received
            assert json.loads(message["android"]["data"]["data"])["alert"] == "Hello from the Parse Dashboard"

            page.goto(f"{app_url}/push/activity/all")
            expect(page.locator("tr", has_text="Hello from the Parse Dashboard")).to_be_visible()
            _shot(page, "push-activity")
            page.locator("tr", has_text="Hello from the Parse Dashboard").first.click()
            page.wait_for_url(f"{app_url}/push/{status['objectId']}")
            expect(page.get_by_text("Hello from the Parse Dashboard").first).to_be_visible()
            _shot(page, "push-details")
        finally:
            _shot(page, "push-last")
            browser.close()
    # The details page also asks the dashboard's *own* server for parse.com's open-rate analytics
    # (GET /apps/<name>/analytics?endpoint=app_opened_from_push_with_id), which parse-dashboard 9.2
    # serves as its HTML page whatever the Parse server: the same error against Parse Server.
    details = f"{app_url}/push/{status['objectId']}"
    assert [error for error in page_errors if not error.startswith(f"{details} <!DOCTYPE html>")] == []
