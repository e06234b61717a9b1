"""``POST /parse/events/:eventName``: validated, buffered, written in batches, counted exactly by the rollup."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest
from asgiref.sync import sync_to_async
from django.db import connection

from hangar.analytics.buffer import EventBuffer, PendingEvent, events_flush
from hangar.analytics.models import Event, EventRollup
from hangar.analytics.rollups import events_rollup
from hangar.parse_errors import ParseError
from tests.conftest import Tenant
from tests.datastore.conftest import insert_user_with_session

pytestmark = pytest.mark.django_db(transaction=True)


async def _track(client: httpx.AsyncClient, tenant: Tenant, name: str, body: object = None, **headers: str):
    content = orjson.dumps(body) if body is not None else b"{}"
    return await client.post(f"/parse/events/{name}", content=content, headers={**tenant.parse_headers(), **headers})


async def test_app_opened_answers_empty_object_and_is_stored_after_flush(parse_client, tenant_a: Tenant):
    response = await _track(parse_client, tenant_a, "AppOpened")
    assert (response.status_code, response.json()) == (200, {})
    await events_flush()
    events = [e async for e in Event.objects.filter(app_id=tenant_a.app.pk)]
    assert [(e.name, e.dimensions) for e in events] == [("AppOpened", {})]


async def test_many_concurrent_clients_are_counted_exactly_after_the_rollup(parse_client, tenant_a: Tenant):
    """400 events from 40 concurrent clients, in few COPY batches, and the hourly and daily rollups count each once."""
    plans = ["free", "pro"]

    async def client(index: int) -> None:
        for n in range(10):
            body = {"dimensions": {"plan": plans[(index + n) % 2], "source": "web"}}
            response = await _track(parse_client, tenant_a, "Search", body)
            assert response.status_code == 200, response.text

    await asyncio.gather(*(client(i) for i in range(40)))
    await events_flush()
    assert await Event.objects.filter(app_id=tenant_a.app.pk, name="Search").acount() == 400
    await sync_to_async(events_rollup)()
    await sync_to_async(events_rollup)()  # a second run (a retry, an overlapping beat) changes nothing
    rollups = [r async for r in EventRollup.objects.filter(app_id=tenant_a.app.pk, name="Search")]
    by_period: dict[str, dict[str, int]] = {"hour": {}, "day": {}}
    for rollup in rollups:
        key = rollup.dimensions["plan"]
        by_period[rollup.period][key] = by_period[rollup.period].get(key, 0) + rollup.count
    assert by_period == {"hour": {"free": 200, "pro": 200}, "day": {"free": 200, "pro": 200}}


async def test_late_events_are_added_to_their_hour_on_the_next_run(parse_client, tenant_a: Tenant):
    await _track(parse_client, tenant_a, "Purchase")
    await events_flush()
    await sync_to_async(events_rollup)()
    earlier = datetime.now(UTC) - timedelta(days=2)
    await _track(parse_client, tenant_a, "Purchase", {"at": {"__type": "Date", "iso": earlier.isoformat()}})
    await _track(parse_client, tenant_a, "Purchase")
    await events_flush()
    await sync_to_async(events_rollup)()
    counts = {
        (r.period, r.bucket): r.count async for r in EventRollup.objects.filter(app_id=tenant_a.app.pk, name="Purchase")
    }
    assert sorted(counts.values()) == [1, 1, 2, 2]  # the earlier hour and day: 1; this hour and day: 2
    assert min(counts)[1].date() == earlier.date()


def _pending(tenant: Tenant, name: str) -> PendingEvent:
    return PendingEvent(
        app_pk=tenant.app.pk, name=name, dimensions={}, user_id="", installation_id="", at=datetime.now(UTC)
    )


async def test_a_full_batch_is_written_without_waiting_for_the_interval(tenant_a: Tenant):
    buffer = EventBuffer(flush_events=50, flush_seconds=3600, max_pending=1000)
    for _ in range(50):
        buffer.add(_pending(tenant_a, "Tap"))
    for _ in range(200):  # the batch was started by the event that filled it
        if buffer.written == 50:
            break
        await asyncio.sleep(0.01)
    assert await Event.objects.filter(app_id=tenant_a.app.pk, name="Tap").acount() == 50


async def test_a_partial_batch_is_written_after_the_interval(tenant_a: Tenant):
    buffer = EventBuffer(flush_events=1000, flush_seconds=0.05, max_pending=1000)
    buffer.add(_pending(tenant_a, "Tick"))
    await asyncio.sleep(0.5)
    assert buffer.written == 1
    assert await Event.objects.filter(app_id=tenant_a.app.pk, name="Tick").acount() == 1


async def test_a_full_buffer_answers_503_with_retry_after(tenant_a: Tenant):
    """While PostgreSQL does not take the events, the buffer stops growing at its bound."""
    buffer = EventBuffer(flush_events=10, flush_seconds=3600, max_pending=10)
    loop = asyncio.get_running_loop()
    buffer._running.update({loop.create_future(), loop.create_future()})  # type: ignore[arg-type]  # flushes stuck
    for _ in range(10):
        buffer.add(_pending(tenant_a, "Tap"))
    with pytest.raises(ParseError) as refused:
        buffer.add(_pending(tenant_a, "Tap"))
    assert (refused.value.status, refused.value.code, refused.value.headers) == (503, 100, {"retry-after": "3600"})
    assert len(buffer) == 10
    buffer._running.clear()
    assert buffer._timer is not None
    buffer._timer.cancel()


@pytest.mark.parametrize(
    ("name", "body", "code"),
    [
        ("Search", {"dimensions": {f"k{i}": "v" for i in range(9)}}, 107),
        ("Search", {"dimensions": {"count": 3}}, 107),
        ("Search", {"dimensions": ["a", "b"]}, 107),
        ("Search", {"dimensions": {"k": "x" * 257}}, 107),
        ("Search", {"dimensions": {"": "v"}}, 107),
        ("Search", {"at": "yesterday"}, 111),
        ("Search", {"at": {"__type": "Date", "iso": "2099-01-01T00:00:00Z"}}, 107),
        ("Search", {"at": {"__type": "Date", "iso": "2001-01-01T00:00:00Z"}}, 107),
        ("-bad", {}, 160),
        ("a" * 129, {}, 160),
        ("bad%0Aname", {}, 160),
    ],
)
async def test_bad_events_get_a_clear_parse_error(parse_client, tenant_a: Tenant, name: str, body: object, code: int):
    response = await _track(parse_client, tenant_a, name, body)
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert response.json()["error"]
    await events_flush()
    assert await Event.objects.filter(app_id=tenant_a.app.pk).acount() == 0


async def test_eight_dimensions_are_accepted(parse_client, tenant_a: Tenant):
    response = await _track(parse_client, tenant_a, "Search", {"dimensions": {f"k{i}": "v" for i in range(8)}})
    assert response.status_code == 200


async def test_the_user_comes_from_the_session_never_from_the_body(parse_client, tenant_a: Tenant):
    """An end user cannot file events as another user: ids in the body are ignored."""
    user_id, token = await sync_to_async(insert_user_with_session)(tenant_a, "eve")
    body = {"dimensions": {"k": "v"}, "user_id": "someoneElse", "app_id": 999, "installationId": "forged"}
    response = await _track(
        parse_client, tenant_a, "AppOpened", body, **{"X-Parse-Session-Token": token, "X-Parse-Installation-Id": "i-1"}
    )
    assert response.status_code == 200
    await events_flush()
    event = await Event.objects.aget(app_id=tenant_a.app.pk)
    assert (event.user_id, event.installation_id, event.dimensions) == (user_id, "i-1", {"k": "v"})


async def test_events_need_a_key_of_the_app(parse_client, tenant_a: Tenant, tenant_b: Tenant):
    """Anonymous clients, and another app's keys, are refused: nothing is stored for the app."""
    anonymous = await parse_client.post("/parse/events/AppOpened", content=b"{}")
    assert anonymous.status_code == 403
    crossed = await parse_client.post(
        "/parse/events/AppOpened", content=b"{}",
        headers={"X-Parse-Application-Id": tenant_a.application_id, "X-Parse-REST-API-Key": tenant_b.keys["rest"]},
    )  # fmt: skip
    assert crossed.status_code == 403
    await events_flush()
    assert await Event.objects.filter(app_id=tenant_a.app.pk).acount() == 0


async def test_each_app_sees_only_its_own_events(parse_client, tenant_a: Tenant, tenant_b: Tenant):
    await _track(parse_client, tenant_a, "OnlyA")
    await _track(parse_client, tenant_b, "OnlyB")
    await events_flush()
    assert [e.name async for e in Event.objects.filter(app_id=tenant_a.app.pk)] == ["OnlyA"]
    assert [e.name async for e in Event.objects.filter(app_id=tenant_b.app.pk)] == ["OnlyB"]


def test_the_data_plane_role_cannot_write_another_apps_events(tenant_a: Tenant, tenant_b: Tenant):
    """Row-level security on analytics_event: bound to app A, a row for app B is refused, and nothing is readable."""
    from django.db import DatabaseError, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL ROLE hangar_dataplane")
        cursor.execute("SELECT set_config('hangar.app_id', %s, true)", [str(tenant_a.app.pk)])
        cursor.execute("SAVEPOINT s")
        with pytest.raises(DatabaseError, match="row-level security"):
            cursor.execute("INSERT INTO analytics_event (app_id, name, at) VALUES (%s, 'x', now())", [tenant_b.app.pk])
        cursor.execute("ROLLBACK TO SAVEPOINT s")
        with pytest.raises(DatabaseError, match="permission denied"):
            cursor.execute("SELECT count(*) FROM analytics_event")
        cursor.execute("ROLLBACK TO SAVEPOINT s")
