"""/metrics (scraped and parsed with prometheus_client.parser), /healthz, /readyz, request ids and JSON logs."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from hangar.observability.logs import (
    TASK_HEADER,
    JsonFormatter,
    RequestIdFilter,
    request_id_var,
    task_context_enter,
    task_context_leave,
    task_headers_add,
)
from tests.conftest import Tenant

pytestmark = pytest.mark.django_db(transaction=True)


def _families(text: str) -> dict[str, list]:
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


async def test_metrics_count_requests_per_route_class_and_status(parse_client, tenant_a: Tenant):
    for _ in range(3):
        assert (await parse_client.get("/parse/config", headers=tenant_a.parse_headers())).status_code == 200
    await parse_client.get("/parse/config")  # no key: 403
    await parse_client.get("/parse/no/such/route/x1", headers=tenant_a.parse_headers())  # 404, class "other"
    response = await parse_client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    families = _families(response.text)
    counts = {
        (s.labels["route"], s.labels["method"], s.labels["status"]): s.value
        for s in families["hangar_http_request_duration_seconds"]
        if s.name.endswith("_count")
    }  # by method too: an earlier test's PUT /config is a series of its own
    assert counts[("config", "GET", "200")] >= 3
    assert counts[("config", "GET", "403")] >= 1
    assert counts[("other", "GET", "404")] >= 1
    assert not any("x1" in route for route, _, _ in counts)  # made-up paths never become series
    for name in (
        "hangar_db_pool_connections", "hangar_db_pool_waiting", "hangar_admission_redis_round_trips",
        "hangar_celery_queue_length", "hangar_livequery_connections", "hangar_sandbox_workers",
        "hangar_analytics_events_pending",
    ):  # fmt: skip
        assert name in families, name
    admitted = families["hangar_admission_requests"][0].value
    round_trips = families["hangar_admission_redis_round_trips"][0].value
    assert 0 < round_trips <= admitted
    assert {"queue": "celery"} in [sample.labels for sample in families["hangar_celery_queue_length"]]


async def test_metrics_need_the_token_when_one_is_set(parse_client, settings):
    settings.HANGAR_METRICS_TOKEN = "scrape-secret-123"
    assert (await parse_client.get("/metrics")).status_code == 403
    wrong = await parse_client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 403
    right = await parse_client.get("/metrics", headers={"Authorization": "Bearer scrape-secret-123"})
    assert right.status_code == 200
    assert "hangar_http_request_duration_seconds" in right.text


async def test_metrics_without_a_token_are_refused_to_other_hosts_and_through_proxies():
    from hangar.asgi import application

    remote = httpx.ASGITransport(app=application, client=("203.0.113.9", 5000))
    async with httpx.AsyncClient(transport=remote, base_url="http://testserver") as client:
        assert (await client.get("/metrics")).status_code == 403
    local = httpx.ASGITransport(app=application, client=("127.0.0.1", 5000))
    async with httpx.AsyncClient(transport=local, base_url="http://testserver") as client:
        proxied = await client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
        assert proxied.status_code == 403


async def test_liveness_and_readiness(parse_client):
    alive = await parse_client.get("/healthz")
    assert (alive.status_code, alive.json()) == (200, {"status": "alive"})
    ready = await parse_client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"postgres": "ok", "redis": "ok"}
    assert (await parse_client.post("/readyz")).status_code == 405


async def test_readiness_fails_with_503_when_redis_does_not_answer(parse_client, settings, monkeypatch):
    import redis.asyncio as aioredis

    from hangar.redis_async import close_redis

    await close_redis()
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        response = await parse_client.get("/readyz")
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
        assert response.json()["checks"] == {"postgres": "ok", "redis": "unavailable"}
    finally:
        await close_redis()
    assert aioredis  # the real client was used, against a closed port


async def test_readiness_fails_with_503_when_postgresql_does_not_answer(parse_client, monkeypatch):
    """A data-plane pool that cannot connect (nothing listens on the port) makes /readyz 503, within its deadline."""
    from hangar import db_pool
    from hangar.db_pool import close_pool

    await close_pool()
    monkeypatch.setattr(db_pool, "data_plane_conninfo", lambda: "host=127.0.0.1 port=1 dbname=none connect_timeout=2")
    try:
        response = await parse_client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["checks"] == {"postgres": "unavailable", "redis": "ok"}
        assert response.json()["seconds"] < 5
        assert (await parse_client.get("/healthz")).status_code == 200  # liveness checks nothing else
    finally:
        await close_pool()  # the next test's pool connects to the real server again


async def test_each_parse_response_carries_a_request_id(parse_client, tenant_a: Tenant):
    fresh = await parse_client.get("/parse/config", headers=tenant_a.parse_headers())
    assert len(fresh.headers["x-request-id"]) == 16
    kept = await parse_client.get("/parse/config", headers={**tenant_a.parse_headers(), "X-Request-Id": "abc-12345678"})
    assert kept.headers["x-request-id"] == "abc-12345678"
    forged = await parse_client.get(
        "/parse/config", headers={**tenant_a.parse_headers(), "X-Request-Id": 'x"} {"level": "CRITICAL'}
    )
    assert forged.headers["x-request-id"] != 'x"} {"level": "CRITICAL'  # a log line cannot be forged


def test_json_log_lines_carry_the_request_id():
    record = logging.LogRecord("hangar.test", logging.WARNING, __file__, 1, "saved %s", ("x",), None)
    token = request_id_var.set("req-1234abcd")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id_var.reset(token)
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "req-1234abcd"
    assert (line["level"], line["logger"], line["message"]) == ("WARNING", "hangar.test", "saved x")


def test_the_request_id_travels_into_a_celery_task():
    """Published with the request's id in its headers; the worker's task context takes it from there."""
    headers: dict[str, str] = {}
    token = request_id_var.set("req-from-web-1")
    try:
        task_headers_add(headers=headers)
    finally:
        request_id_var.reset(token)
    assert headers == {TASK_HEADER: "req-from-web-1"}

    class Request:  # what Celery's Context exposes: message headers as attributes
        hangar_request_id = "req-from-web-1"

    class Task:
        request = Request()

    task_context_enter(task_id="task-1", task=Task())
    try:
        assert request_id_var.get() == "req-from-web-1"
    finally:
        task_context_leave()
    assert request_id_var.get() is None


@pytest.mark.slow
def test_with_several_web_processes_every_scrape_counts_all_their_requests(tmp_path):
    """uvicorn --workers 2 behind one port, PROMETHEUS_MULTIPROC_DIR set (as make run sets it): a scrape
    answered by either process reports the requests both served."""
    import os
    import subprocess
    import sys
    import time

    from django.conf import settings

    from tests.conftest import REPO_DIR, _database_url, _free_port

    port = _free_port()
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    env = {
        **os.environ, "DJANGO_SETTINGS_MODULE": "hangar.settings_test",
        "PYTHONPATH": os.pathsep.join([str(REPO_DIR / "platform"), str(REPO_DIR)]),
        "DATABASE_URL": _database_url(settings.DATABASES["default"]), "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }  # fmt: skip
    log_path = tmp_path / "web.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "hangar.asgi:application", "--app-dir", str(REPO_DIR / "platform"),
             "--host", "127.0.0.1", "--port", str(port), "--workers", "2", "--log-level", "warning"],
            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO_DIR,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not _answers(f"{url}/healthz"):
            assert process.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, log_path.read_text()[-3000:]
            time.sleep(0.3)
        for _ in range(40):  # a new connection each: the two processes share the listening socket
            assert httpx.get(f"{url}/parse/health", timeout=5).status_code == 200
        for _ in range(6):
            text = httpx.get(f"{url}/metrics", timeout=5).text
            counts = [
                s.value for s in _families(text)["hangar_http_request_duration_seconds"]
                if s.name.endswith("_count") and s.labels["route"] == "health" and s.labels["status"] == "200"
            ]  # fmt: skip
            assert counts == [40]
        assert len(list(metrics_dir.glob("histogram_*.db"))) == 2  # both processes served some of them
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
