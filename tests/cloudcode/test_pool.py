"""Faults of sandboxed workers: each stays in its worker, gets a clear error, and the worker is replaced."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async

from hangar.cloudcode.pool import current_pool
from hangar.cloudcode.services import activate_version, set_limits
from hangar.cloudcode.worker import SandboxWorker
from tests.cloudcode.conftest import deploy_async
from tests.datastore.conftest import ParseApp

pytestmark = pytest.mark.django_db(transaction=True)

FAULTS = {
    "main.py": """
    import os, time
    from hangar_cloud import define, _data

    @define("pid")
    def pid(request):
        return os.getpid()

    @define("crash")
    def crash(request):
        os._exit(3)

    @define("sleep")
    def sleep(request):
        time.sleep(request.params["seconds"])
        return "slept"

    @define("allocate")
    def allocate(request):
        return len(bytearray(request.params["bytes"]))

    def channel_writer():
        return _data._transport.__self__._writer  # the real channel, as a hostile handler would find it

    @define("garbage")
    def garbage(request):
        channel_writer().write(bytes.fromhex(request.params["hex"]))
        time.sleep(5)
        return "unreachable"

    @define("huge")
    def huge(request):
        return "x" * request.params["bytes"]

    @define("recurse")
    def recurse(request):
        depth = request.params.get("depth", 0)
        return request.data.run("recurse", {"depth": depth + 1}) if depth < 10 else depth
    """
}


def live_workers(app_pk: int | None = None) -> list[SandboxWorker]:
    pool = current_pool()
    return [worker for key, workers in pool.idle.items() for worker in workers if app_pk is None or key[0] == app_pk]


async def wait_until_dead(worker: SandboxWorker, seconds: float = 5.0) -> None:
    async with asyncio.timeout(seconds):
        while worker.process.returncode is None:
            await asyncio.sleep(0.05)


@pytest.fixture
async def faulty(app_a: ParseApp) -> ParseApp:
    await deploy_async(app_a.tenant, FAULTS)
    return app_a


async def call(app: ParseApp, name: str, **params: object) -> tuple[int, dict[str, object]]:
    response = await app.request("POST", f"/functions/{name}", params)
    return response.status_code, response.json()


async def test_a_crashed_worker_is_replaced(faulty: ParseApp):
    _, _first = await call(faulty, "pid")
    (before,) = live_workers()
    assert await call(faulty, "crash") == (400, {"code": 141, "error": "Cloud code crashed (the worker was replaced)."})
    await wait_until_dead(before)
    status, _second = await call(faulty, "pid")
    assert status == 200
    (after,) = live_workers()
    assert after is not before
    assert after.process.returncode is None
    assert current_pool().total == 1


async def test_a_timed_out_worker_is_killed_and_replaced(faulty: ParseApp, settings):
    settings.HANGAR_CLOUD_FUNCTION_TIMEOUT_SECONDS = 0.5
    await call(faulty, "pid")
    (before,) = live_workers()
    assert await call(faulty, "sleep", seconds=30) == (400, {"code": 141, "error": "Execution timed out after 0.5 s."})
    await wait_until_dead(before)
    assert (await call(faulty, "pid"))[0] == 200
    assert current_pool().total == 1


async def test_out_of_memory_retires_the_worker(faulty: ParseApp):
    await call(faulty, "pid")
    (before,) = live_workers()
    assert await call(faulty, "allocate", bytes=2 * 1024**3) == (400, {"code": 141, "error": "Out of memory."})
    await wait_until_dead(before)
    assert await call(faulty, "allocate", bytes=1024) == (200, {"result": 1024})


async def test_idle_workers_are_evicted(faulty: ParseApp, settings):
    settings.HANGAR_CLOUD_WORKER_IDLE_SECONDS = 0.5
    await call(faulty, "pid")
    (worker,) = live_workers()
    await wait_until_dead(worker, seconds=3.0)
    assert current_pool().total == 0
    assert (await call(faulty, "pid"))[0] == 200


async def test_per_app_cap_answers_503_with_retry_after(faulty: ParseApp, settings):
    settings.HANGAR_CLOUD_WORKERS_PER_APP = 1
    settings.HANGAR_CLOUD_POOL_WAIT_SECONDS = 0.3
    busy = asyncio.ensure_future(call(faulty, "sleep", seconds=2))
    await asyncio.sleep(1.0)  # the first call holds the app's only worker
    response = await faulty.request("POST", "/functions/pid", {})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json() == {"code": 141, "error": "Cloud code is busy; retry shortly."}
    assert await busy == (200, {"result": "slept"})
    assert (await call(faulty, "pid"))[0] == 200  # the worker is free again


async def test_global_cap_answers_503_and_idle_workers_of_other_apps_make_room(
    faulty: ParseApp, app_b: ParseApp, settings
):
    settings.HANGAR_CLOUD_WORKERS_MAX = 1
    settings.HANGAR_CLOUD_POOL_WAIT_SECONDS = 0.3
    await deploy_async(app_b.tenant, FAULTS)
    busy = asyncio.ensure_future(call(faulty, "sleep", seconds=2))
    await asyncio.sleep(1.0)
    response = await app_b.request("POST", "/functions/pid", {})
    assert (response.status_code, response.headers.get("retry-after")) == (503, "1")
    assert await busy == (200, {"result": "slept"})
    # Now app A's worker is idle: app B's call evicts it rather than waiting.
    (idle_of_a,) = live_workers(faulty.tenant.app.pk)
    assert (await call(app_b, "pid"))[0] == 200
    await wait_until_dead(idle_of_a)
    assert current_pool().total == 1


@pytest.mark.parametrize(
    ("payload", "reason"),
    [("ffffffff", "oversized"), ("00000005" + "68656c6c6f", "malformed"), ("0000000a7b7d", "stopped")],
)
async def test_a_forged_frame_kills_only_that_worker(faulty: ParseApp, payload: str, reason: str, caplog):
    """Garbage written to the real channel (a length over the bound, bad JSON, a short frame)."""
    await call(faulty, "pid")
    (before,) = live_workers()
    status, body = await call(faulty, "garbage", hex=payload)
    if reason == "stopped":  # a short frame: the platform waits for the rest until the deadline
        assert body["code"] == 141
    else:
        assert (status, body) == (400, {"code": 141, "error": "Cloud code crashed (the worker was replaced)."})
        assert reason in caplog.text
    await wait_until_dead(before)
    assert (await call(faulty, "pid"))[0] == 200


async def test_a_hundred_megabyte_result_is_refused_clearly(faulty: ParseApp):
    status, body = await call(faulty, "huge", bytes=100 * 1024 * 1024)
    assert (status, body["code"]) == (400, 141)
    assert body["error"].startswith("The result is too large (100 MB; the limit is 32 MB)")
    assert (await call(faulty, "pid"))[0] == 200


async def test_calls_nested_deeper_than_three_are_refused(faulty: ParseApp):
    assert await call(faulty, "recurse") == (400, {"code": 141, "error": "Cloud code calls are nested too deeply."})
    assert (await call(faulty, "pid"))[0] == 200


async def test_activation_stops_the_old_versions_workers(faulty: ParseApp):
    """Deploying (and rolling back) stops the idle workers of the replaced version without waiting for a request."""
    await call(faulty, "pid")
    (first,) = live_workers()
    await deploy_async(faulty.tenant, {**FAULTS, "extra.py": "VALUE = 2\n"})
    await wait_until_dead(first)
    await call(faulty, "pid")
    (second,) = live_workers()
    await sync_to_async(activate_version)(faulty.tenant.app, 1)
    await wait_until_dead(second)
    assert current_pool().total == 0
    assert (await call(faulty, "pid"))[0] == 200


async def test_per_app_function_timeout(faulty: ParseApp, app_b: ParseApp, settings):
    settings.HANGAR_CLOUD_FUNCTION_TIMEOUT_MAX_SECONDS = 5.0
    await deploy_async(app_b.tenant, FAULTS)
    await sync_to_async(set_limits)(faulty.tenant.app, function_timeout_seconds=0.5, trigger_timeout_seconds=None)
    assert await call(faulty, "sleep", seconds=2) == (400, {"code": 141, "error": "Execution timed out after 0.5 s."})
    assert await call(app_b, "sleep", seconds=1) == (200, {"result": "slept"})  # another app keeps the default
    with pytest.raises(ValueError, match="at most 5 seconds"):
        await sync_to_async(set_limits)(faulty.tenant.app, function_timeout_seconds=6, trigger_timeout_seconds=None)
