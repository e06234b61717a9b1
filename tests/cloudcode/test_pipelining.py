"""Invocations queued behind a busy worker (hangar.cloudcode.pool, "Pipelining"), with real sandboxes.

Each test forces queueing (one worker per app, any running time) and checks what a
queued request must never see: another request's answer, a lost or doubled invocation,
a worker stuck behind one that hangs, or a wait past the pool's bound.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from hangar.cloudcode import sandbox
from hangar.cloudcode.pool import WorkerPool, current_pool
from hangar.cloudcode.worker import NotStartedError, SandboxWorker, SkippedError
from hangar.parse_errors import ParseError
from tests.cloudcode.conftest import bundle_of, deploy_async
from tests.datastore.conftest import ParseApp

BUNDLE = {
    "main.py": """
    import os, time
    from hangar_cloud import define

    @define("echo")
    def echo(request):
        return {"n": request.params["n"], "pid": os.getpid()}

    @define("sleep")
    def sleep(request):
        time.sleep(request.params["seconds"])
        return "slept"

    @define("roundtrip")
    def roundtrip(request):
        saved = request.data.save("Note", {"n": request.params["n"]}, use_master=True)
        found = request.data.get("Note", saved["objectId"], use_master=True)
        return found["n"]
    """
}


@pytest.fixture
def queueing(settings: Any) -> None:
    settings.HANGAR_CLOUD_WORKERS_PER_APP = 1
    settings.HANGAR_CLOUD_PIPELINE_DEPTH = 8
    settings.HANGAR_CLOUD_PIPELINE_MAX_RUNNING_MS = 60_000


@pytest.fixture
async def app(app_a: ParseApp, queueing: None) -> ParseApp:
    await deploy_async(app_a.tenant, BUNDLE)
    return app_a


async def call(app: ParseApp, name: str, **params: object) -> tuple[int, Any]:
    response = await app.request("POST", f"/functions/{name}", params)
    return response.status_code, response.json()


@pytest.mark.django_db(transaction=True)
async def test_requests_queued_on_one_worker_each_get_their_own_answer(app: ParseApp):
    results = await asyncio.gather(*(call(app, "echo", n=n) for n in range(24)))
    assert [body["result"]["n"] for _, body in results] == list(range(24))
    assert {status for status, _ in results} == {200}
    assert len({body["result"]["pid"] for _, body in results}) == 1  # one worker served them all
    assert current_pool().total == 1


@pytest.mark.django_db(transaction=True)
async def test_queued_requests_make_their_own_data_calls(app: ParseApp):
    results = await asyncio.gather(*(call(app, "roundtrip", n=n) for n in range(12)))
    assert results == [(200, {"result": n}) for n in range(12)]


@pytest.mark.django_db(transaction=True)
async def test_a_request_queued_behind_one_that_times_out_runs_on_a_new_worker(app: ParseApp, settings: Any):
    settings.HANGAR_CLOUD_FUNCTION_TIMEOUT_SECONDS = 1.0
    stuck = asyncio.ensure_future(call(app, "sleep", seconds=30))
    while not current_pool().busy:
        await asyncio.sleep(0.01)
    (worker,) = current_pool().busy[next(iter(current_pool().busy))]
    queued = asyncio.ensure_future(call(app, "echo", n=7))
    while worker.queued < 2:
        await asyncio.sleep(0.01)
    assert await stuck == (400, {"code": 141, "error": "Execution timed out after 1 s."})
    status, body = await queued
    assert (status, body["result"]["n"]) == (200, 7)
    assert body["result"]["pid"] != worker.process.pid  # it never ran on the killed worker


@pytest.mark.django_db(transaction=True)
async def test_a_request_whose_turn_comes_after_the_pool_wait_is_answered_busy(app: ParseApp, settings: Any):
    settings.HANGAR_CLOUD_POOL_WAIT_SECONDS = 0.3
    slow = asyncio.ensure_future(call(app, "sleep", seconds=1))
    while not current_pool().busy:
        await asyncio.sleep(0.01)
    response = await app.request("POST", "/functions/echo", {"n": 1})
    assert (response.status_code, response.headers.get("retry-after")) == (503, "1")
    assert response.json() == {"code": 141, "error": "Cloud code is busy; retry shortly."}
    assert await slow == (200, {"result": "slept"})
    assert (await call(app, "echo", n=2))[0] == 200  # the worker is fine


@pytest.mark.django_db(transaction=True)
async def test_nested_calls_never_queue_behind_their_caller(app_a: ParseApp, queueing: None, settings: Any):
    await deploy_async(
        app_a.tenant,
        {
            "main.py": """
            from hangar_cloud import define

            @define("outer")
            def outer(request):
                return request.data.run("inner", {"n": request.params["n"]})

            @define("inner")
            def inner(request):
                return request.params["n"] * 2
            """
        },
    )
    # Queued behind its own caller, the inner call would wait for the outer, which waits for it:
    # it takes the app's second worker instead.
    settings.HANGAR_CLOUD_WORKERS_PER_APP = 2
    settings.HANGAR_CLOUD_FUNCTION_TIMEOUT_SECONDS = 3
    assert await call(app_a, "outer", n=4) == (200, {"result": 8})
    assert current_pool().total == 2


@pytest.mark.django_db(transaction=True)
async def test_short_functions_queue_before_another_worker_starts_and_slow_ones_keep_their_concurrency(
    app_a: ParseApp, settings: Any
):
    await deploy_async(app_a.tenant, BUNDLE)
    settings.HANGAR_CLOUD_WORKERS_PER_APP = 4
    settings.HANGAR_CLOUD_PIPELINE_SHORT_MS = 1_000  # echo counts as short on a busy test machine too
    settings.HANGAR_CLOUD_PIPELINE_DEPTH = 8
    assert (await call(app_a, "echo", n=0))[0] == 200  # measured once: short
    results = await asyncio.gather(*(call(app_a, "echo", n=n) for n in range(8)))
    assert len({body["result"]["pid"] for _, body in results}) == 1
    assert current_pool().total == 1

    settings.HANGAR_CLOUD_PIPELINE_SHORT_MS = 2
    await call(app_a, "sleep", seconds=0.3)  # the worker's typical invocation is now long
    started = time.monotonic()
    slept = await asyncio.gather(*(call(app_a, "sleep", seconds=0.3) for _ in range(3)))
    assert slept == [(200, {"result": "slept"})] * 3
    assert time.monotonic() - started < 0.85  # side by side on three workers, not one after another
    assert current_pool().total == 3


# Below: the worker and the pool directly, for what a request cannot arrange on purpose.

ECHO = {"kind": "function", "name": "echo", "context": {}, "master": False, "installationId": None,
        "ip": "127.0.0.1", "headers": {}, "user": None}  # fmt: skip


async def _no_calls(operation: str, arguments: dict[str, Any], master: bool) -> Any:
    raise AssertionError("no data calls expected")


@pytest.fixture
async def worker() -> Any:
    directory = sandbox.unpack_bundle(bundle_of(BUNDLE).archive, label="pipeline-test")
    started = await SandboxWorker.start(bundle=directory, env={}, limits=sandbox.default_limits(), timeout=10)
    yield started
    await started.stop()
    sandbox.remove_bundle_dir(directory)


async def test_a_queued_request_that_goes_away_leaves_the_worker_usable(worker: SandboxWorker):
    sleep = {**ECHO, "name": "sleep", "params": {"seconds": 0.4}}
    running = asyncio.ensure_future(worker.invoke(sleep, timeout=5, on_call=_no_calls))
    queued = asyncio.ensure_future(worker.invoke({**ECHO, "params": {"n": 1}}, timeout=5, on_call=_no_calls))
    while worker.queued < 2:
        await asyncio.sleep(0.01)
    queued.cancel()  # its client went away: the sandbox still runs it, its answer is dropped
    assert (await running)["result"] == "slept"
    with pytest.raises(asyncio.CancelledError):
        await queued
    after = await worker.invoke({**ECHO, "params": {"n": 2}}, timeout=5, on_call=_no_calls)
    assert after["result"]["n"] == 2
    assert not worker.broken
    assert worker.queued == 0


async def test_a_running_request_that_goes_away_keeps_its_deadline(worker: SandboxWorker):
    sleep = {**ECHO, "name": "sleep", "params": {"seconds": 30}}
    running = asyncio.ensure_future(worker.invoke(sleep, timeout=0.5, on_call=_no_calls))
    queued = asyncio.ensure_future(worker.invoke({**ECHO, "params": {"n": 1}}, timeout=5, on_call=_no_calls))
    while worker.queued < 2:
        await asyncio.sleep(0.01)
    running.cancel()
    started = time.monotonic()
    with pytest.raises(NotStartedError):  # killed at the abandoned one's deadline, not after 30 s
        await queued
    assert time.monotonic() - started < 5
    assert worker.broken


async def test_the_sandbox_skips_a_queued_invocation_past_its_start_by(worker: SandboxWorker):
    sleep = {**ECHO, "name": "sleep", "params": {"seconds": 0.5}}
    running = asyncio.ensure_future(worker.invoke(sleep, timeout=5, on_call=_no_calls))
    while worker.queued < 1:
        await asyncio.sleep(0.01)
    with pytest.raises(SkippedError):
        await worker.invoke({**ECHO, "params": {"n": 1}}, timeout=5, on_call=_no_calls, start_by=time.time() + 0.1)
    assert (await running)["result"] == "slept"
    assert (await worker.invoke({**ECHO, "params": {"n": 2}}, timeout=5, on_call=_no_calls))["result"]["n"] == 2


async def test_the_pool_queues_only_behind_young_invocations(settings: Any):
    settings.HANGAR_CLOUD_WORKERS_PER_APP = 1
    settings.HANGAR_CLOUD_POOL_WAIT_SECONDS = 0.3
    settings.HANGAR_CLOUD_PIPELINE_MAX_RUNNING_MS = 100
    directory = sandbox.unpack_bundle(bundle_of(BUNDLE).archive, label="pipeline-pool-test")
    pool = WorkerPool()

    async def start() -> SandboxWorker:
        return await SandboxWorker.start(bundle=directory, env={}, limits=sandbox.default_limits(), timeout=10)

    key = (1, 1, "")
    first = await pool._acquire(key, start, pipeline=True)
    sleeping = asyncio.ensure_future(
        first.invoke({**ECHO, "name": "sleep", "params": {"seconds": 1}}, timeout=5, on_call=_no_calls)
    )
    await asyncio.sleep(0.01)
    second = await pool._acquire(key, start, pipeline=True)
    assert second is first  # running for less than 100 ms: queued behind it
    pool._release(key, second)
    with pytest.raises(ParseError) as busy:  # a nested call or a job never queues: it waits for a free worker
        await pool._acquire(key, start, pipeline=False)
    assert busy.value.status == 503
    await asyncio.sleep(0.15)
    with pytest.raises(ParseError) as busy:  # running for too long now: nobody queues behind it
        await pool._acquire(key, start, pipeline=True)
    assert busy.value.status == 503
    assert (await sleeping)["result"] == "slept"
    pool._release(key, first)
    assert (pool.total, pool.busy, len(pool.idle[key])) == (1, {}, 1)
    await pool.close()
    sandbox.remove_bundle_dir(directory)


async def test_nothing_is_queued_behind_a_job_or_a_nested_call(settings: Any):
    settings.HANGAR_CLOUD_WORKERS_PER_APP = 1
    settings.HANGAR_CLOUD_POOL_WAIT_SECONDS = 0.3
    settings.HANGAR_CLOUD_PIPELINE_MAX_RUNNING_MS = 60_000
    settings.HANGAR_CLOUD_PIPELINE_SHORT_MS = 60_000
    directory = sandbox.unpack_bundle(bundle_of(BUNDLE).archive, label="pipeline-exclusive-test")
    pool = WorkerPool()

    async def start() -> SandboxWorker:
        return await SandboxWorker.start(bundle=directory, env={}, limits=sandbox.default_limits(), timeout=10)

    key = (1, 1, "")
    job_worker = await pool._acquire(key, start, pipeline=False)  # a job may run for minutes
    with pytest.raises(ParseError) as busy:
        await pool._acquire(key, start, pipeline=True)
    assert busy.value.status == 503
    pool._release(key, job_worker)
    first = await pool._acquire(key, start, pipeline=True)
    second = await pool._acquire(key, start, pipeline=True)  # the same worker, no longer exclusive
    assert second is first
    pool._release(key, second)
    pool._release(key, first)
    assert (pool.total, pool.busy, first.exclusive) == (1, {}, False)
    await pool.close()
    sandbox.remove_bundle_dir(directory)
