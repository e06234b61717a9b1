"""LiveQuery over several server processes: cross-process delivery, slow consumers, limits and stats."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import signal
import time
from collections.abc import Iterator

import orjson
import pytest
from asgiref.sync import sync_to_async

from hangar.invalidation import publish_app_changed
from hangar.realtime.stats import app_live_stats
from tenants.models import Organization, Plan
from tests.conftest import LiveServer, Tenant, start_live_server, stop_live_server
from tests.realtime.conftest import WAIT, Rest

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
SMALL_QUEUE = 20
CONNECT_WITHIN = 1.0
PER_ADDRESS = 4


@pytest.fixture(scope="module")
def second_server(live_server: LiveServer) -> Iterator[LiveServer]:
    """Another server process on the same database and Redis, with a small send queue and tight socket limits."""
    server = start_live_server({
        "HANGAR_LIVEQUERY_SEND_QUEUE": str(SMALL_QUEUE),
        "HANGAR_LIVEQUERY_CONNECT_TIMEOUT_SECONDS": str(CONNECT_WITHIN),
        "HANGAR_LIVEQUERY_CONNECTIONS_PER_ADDRESS": str(PER_ADDRESS),
    }, log_name="live-server-2.log")  # fmt: skip
    yield server
    stop_live_server(server)


def ws(server: LiveServer) -> str:
    return server.url.replace("http://", "ws://") + "/parse"


async def test_a_write_on_one_process_reaches_a_subscriber_on_another(
    live_client, second_server: LiveServer, tenant_a: Tenant, rest_a: Rest
):
    """rest_a writes through the first server; the subscriber is connected to the second."""
    await rest_a.call("POST", "/classes/Relay", {"seed": True})
    async with live_client(ws(second_server)) as far, live_client() as near:
        await far.connect(tenant_a)
        assert (await far.subscribe(1, "Relay"))["op"] == "subscribed"
        await near.connect(tenant_a)
        assert (await near.subscribe(1, "Relay"))["op"] == "subscribed"
        created = await rest_a.call("POST", "/classes/Relay", {"n": 1})
        assert (await far.expect("create"))["object"]["objectId"] == created["objectId"]
        assert (await near.expect("create"))["object"]["objectId"] == created["objectId"]
        # The near process stops listening; the far one still has its subscriber, so the class stays published.
        await near.send({"op": "unsubscribe", "requestId": 1})
        await near.expect("unsubscribed")
        await asyncio.sleep(0.3)
        created = await rest_a.call("POST", "/classes/Relay", {"n": 2})
        assert (await far.expect("create"))["object"]["objectId"] == created["objectId"]


async def test_a_slow_reader_is_told_and_disconnected(
    live_client, second_server: LiveServer, tenant_a: Tenant, rest_a: Rest
):
    await rest_a.call("POST", "/classes/Firehose", {"seed": True})
    async with live_client(ws(second_server), max_queue=1, receive_buffer=16384) as slow:
        await slow.connect(tenant_a)
        await slow.subscribe(1, "Firehose")
        blob = secrets.token_urlsafe(150_000)
        for _ in range(3):  # more than the socket buffers and the queue hold, while the client reads nothing
            await rest_a.call("POST", "/batch", {"requests": [
                {"method": "POST", "path": "/parse/classes/Firehose", "body": {"blob": blob}} for _ in range(20)
            ]})  # fmt: skip
        frames = []
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            try:
                frames.append(orjson.loads(await asyncio.wait_for(slow.socket.recv(), WAIT)))
            except Exception:  # closed by the server
                break
        assert frames[-1]["op"] == "error", len(frames)
        assert frames[-1]["code"] == 155
        assert len(frames) < 60  # events were dropped rather than queued without bound
        assert slow.socket.close_code == 1013


async def test_a_socket_that_never_connects_is_told_and_closed(live_client, second_server: LiveServer):
    """An anonymous client holding sockets open without `connect` counts against no app: it gets a deadline."""
    async with live_client(ws(second_server)) as idle:
        started = time.monotonic()
        refused = await idle.receive(timeout=CONNECT_WITHIN + WAIT)
        assert (refused["op"], refused["code"]) == ("error", 2)
        assert CONNECT_WITHIN - 0.2 <= time.monotonic() - started < CONNECT_WITHIN + WAIT
        with pytest.raises(Exception):  # noqa: B017  (closed by the server)
            await idle.receive(timeout=WAIT)
        assert idle.socket.close_code == 1008


async def test_sockets_per_client_address_are_capped(live_client, second_server: LiveServer, tenant_a: Tenant):
    """One address cannot take a node's file descriptors from every tenant; others' sockets are unaffected."""
    async with contextlib.AsyncExitStack() as stack:
        held = [await stack.enter_async_context(live_client(ws(second_server))) for _ in range(PER_ADDRESS)]
        for client in held:
            assert (await client.connect(tenant_a))["op"] == "connected"
        async with live_client(ws(second_server)) as extra:
            refused = await extra.receive()
            assert (refused["op"], refused["code"], refused["reconnect"]) == ("error", 155, True)
            with pytest.raises(Exception):  # noqa: B017  (closed by the server)
                await extra.receive(timeout=WAIT)
            assert extra.socket.close_code == 1013
    # Closed ones free their places.
    async with live_client(ws(second_server)) as again:
        assert (await again.connect(tenant_a))["op"] == "connected"


async def test_plan_connection_limit(live_client, tenant_a: Tenant):
    plan = await Plan.objects.acreate(name="tiny-live", requests_per_second=100, max_live_connections=1)
    await Organization.objects.filter(pk=tenant_a.organization.pk).aupdate(plan=plan)
    await sync_to_async(publish_app_changed)(tenant_a.application_id)
    async with live_client() as first, live_client() as second:
        assert (await first.connect(tenant_a))["op"] == "connected"
        refused = await second.connect(tenant_a)
        assert (refused["op"], refused["code"]) == ("error", 155)
        assert "1 live connections" in refused["error"]


async def test_live_stats_count_connections_and_subscriptions(live_client, tenant_a: Tenant, rest_a: Rest):
    await rest_a.call("POST", "/classes/Counted", {"seed": True})
    app_pk = tenant_a.app.pk
    async with live_client() as client:
        await client.connect(tenant_a)
        await client.subscribe(1, "Counted")
        await client.subscribe(2, "Counted", {"n": 1})
        expected = {"connections": 1, "subscriptions": {"Counted": 2}}
        deadline = time.monotonic() + WAIT
        while app_live_stats(app_pk) != expected and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        assert app_live_stats(app_pk) == expected
    deadline = time.monotonic() + WAIT
    while app_live_stats(app_pk)["connections"] and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    assert app_live_stats(app_pk) == {"connections": 0, "subscriptions": {}}


async def test_zz_a_server_shutting_down_closes_its_connections(
    live_client, second_server: LiveServer, tenant_a: Tenant
):
    """Runs last in this module: it stops the second server (the SDKs then reconnect elsewhere)."""
    async with live_client(ws(second_server)) as client:
        await client.connect(tenant_a)
        second_server.process.terminate()
        await asyncio.wait_for(client.socket.wait_closed(), WAIT)
        assert client.socket.close_code in {1001, 1012}  # going away / service restart
    # uvicorn shuts down (lifespan included) and then re-raises the signal it caught.
    assert await asyncio.to_thread(second_server.process.wait, WAIT) in {0, -signal.SIGTERM}


async def test_installation_id_is_echoed(live_client, tenant_a: Tenant, rest_a: Rest):
    await rest_a.call("POST", "/classes/Echo", {"seed": True})
    async with live_client() as client:
        await client.send({"op": "connect", "applicationId": tenant_a.application_id,
                           "javascriptKey": tenant_a.keys["javascript"], "installationId": "inst-lq"})  # fmt: skip
        assert (await client.expect("connected"))["installationId"] == "inst-lq"
        assert (await client.subscribe(1, "Echo"))["installationId"] == "inst-lq"
        await rest_a.call("POST", "/classes/Echo", {"n": 1})
        assert (await client.expect("create"))["installationId"] == "inst-lq"
