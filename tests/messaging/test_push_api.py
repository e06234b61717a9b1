"""``POST /push`` as Parse Server: validation (115), the recorded ``_PushStatus`` campaign, master key only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from tests.datastore.conftest import insert_user_with_session
from tests.messaging.conftest import ParseApp

pytestmark = pytest.mark.django_db(transaction=True)


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


async def _push(app: ParseApp, body: dict[str, Any], **kwargs: Any) -> Any:
    return await app.request("POST", "/push", body, **{"master": True, **kwargs})


async def _status(app: ParseApp, status_id: str) -> dict[str, Any]:
    response = await app.request("GET", f"/classes/_PushStatus/{status_id}", master=True)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _statuses(app: ParseApp) -> list[dict[str, Any]]:
    return list((await app.request("GET", "/classes/_PushStatus", master=True)).json()["results"])


async def test_a_push_to_channels_is_recorded_as_a_pending_push_status(
    app_a: ParseApp, handed_over: list[tuple[int, str]]
) -> None:
    data = {"alert": "Hello", "badge": "Increment", "sound": "default", "title": "Hi", "custom": {"k": 1}}
    sent = await _push(app_a, {"channels": ["news", "sport"], "data": data})
    assert sent.status_code == 200, sent.text
    assert sent.json() == {"result": True}
    status_id = sent.headers["X-Parse-Push-Status-Id"]
    row = await _status(app_a, status_id)
    assert orjson.loads(row["query"]) == {"channels": {"$in": ["news", "sport"]}}
    assert orjson.loads(row["payload"]) == data
    assert (row["status"], row["source"], row["numSent"], row["title"]) == ("pending", "rest", 0, "Hi")
    assert row["pushHash"] == "8b1a9953c4611296a827abf8c47804d7"  # md5("Hello"), as Parse Server
    assert row["ACL"] == {}
    pushed_at = datetime.fromisoformat(row["pushTime"].replace("Z", "+00:00"))
    assert abs(pushed_at - datetime.now(UTC)) < timedelta(minutes=1)
    assert row["pushTime"].endswith("Z")
    assert handed_over == [(app_a.tenant.app.pk, status_id)]  # the engine is told, once, after the commit


async def test_where_scheduled_local_time_and_expirations_are_recorded_as_parse_does(app_a: ParseApp) -> None:
    later = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    absolute = await _push(
        app_a,
        {"where": {"deviceType": "ios"}, "data": {"alert": "a"}, "push_time": later.isoformat().replace("+00:00", "Z"),
         "expiration_interval": 3600},
    )  # fmt: skip
    row = await _status(app_a, absolute.headers["X-Parse-Push-Status-Id"])
    assert row["status"] == "scheduled"
    assert row["pushTime"] == later.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert row["expiration_interval"] == 3600
    assert "expiry" not in row
    local = await _push(app_a, {"where": {}, "data": {"alert": "b"}, "push_time": "2030-01-02T09:30:00"})
    row = await _status(app_a, local.headers["X-Parse-Push-Status-Id"])
    assert (row["status"], row["pushTime"]) == ("scheduled", "2030-01-02T09:30:00.000")  # no zone: each device's time
    offset = await _push(app_a, {"where": {}, "data": {}, "push_time": "2030-01-02T09:30:00+02:00"})
    assert (await _status(app_a, offset.headers["X-Parse-Push-Status-Id"]))["pushTime"] == "2030-01-02T07:30:00.000Z"
    expiring = await _push(app_a, {"where": {}, "data": {}, "expiration_time": "2030-01-01T00:00:00Z"})
    row = await _status(app_a, expiring.headers["X-Parse-Push-Status-Id"])
    assert row["expiry"] == int(datetime(2030, 1, 1, tzinfo=UTC).timestamp() * 1000)
    assert row["status"] == "pending"
    epoch = await _push(app_a, {"where": {}, "data": {}, "expiration_time": 1893456000})
    assert (await _status(app_a, epoch.headers["X-Parse-Push-Status-Id"]))["expiry"] == 1893456000000
    immediate = await _push(app_a, {"where": {}, "data": {}, "expiration_interval": 60})
    row = await _status(app_a, immediate.headers["X-Parse-Push-Status-Id"])
    assert abs(row["expiry"] / 1000 - (datetime.now(UTC).timestamp() + 60)) < 30  # Parse: now + interval


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"data": {"alert": "x"}}, 'Sending a push requires either "channels" or a "where" query.'),
        ({"channels": ["a"], "where": {}, "data": {}}, "Channels and query can not be set at the same time."),
        (
            {"where": {}, "data": {}, "expiration_time": "2030-01-01T00:00:00Z", "expiration_interval": 5},
            "Both expiration_time and expiration_interval cannot be set",
        ),
        ({"where": {}, "data": {}, "expiration_interval": 0}, "expiration_interval must be a number greater than 0"),
        ({"where": {}, "data": {}, "expiration_interval": "10"}, "expiration_interval must be a number greater than 0"),
        ({"where": {}, "data": {}, "push_time": "tomorrow"}, "tomorrow is not valid time."),
        ({"where": {}, "data": {}, "push_time": True}, "True is not valid time."),
        ({"where": {}, "data": {}, "expiration_time": "soon"}, "soon is not valid time."),
        (
            {"where": {}, "data": {"badge": "lots"}},
            "Invalid value for badge, expected number or 'Increment' or {increment: number}",
        ),
        (
            {"where": {}, "data": {"badge": {"__op": "Increment", "amount": "x"}}},
            "Invalid value for badge, expected number or 'Increment' or {increment: number}",
        ),
        ({"channels": "news", "data": {}}, "channels must be an array of strings."),
        ({"where": [], "data": {}}, "where must be a query object."),
        ({"where": {}, "data": "hello"}, "data must be an object."),
    ],
)
async def test_a_bad_push_is_115_and_records_nothing(app_a: ParseApp, body: dict[str, Any], message: str) -> None:
    refused = await _push(app_a, body)
    assert (refused.status_code, refused.json()) == (400, {"code": 115, "error": message})
    assert await _statuses(app_a) == []


async def test_badges_parse_accepts(app_a: ParseApp) -> None:
    for badge in (3, "Increment", "increment", {"__op": "Increment", "amount": 2}, 0):
        assert (await _push(app_a, {"where": {}, "data": {"badge": badge}})).status_code == 200
    assert len(await _statuses(app_a)) == 5


async def test_a_query_the_installations_cannot_run_is_refused_before_recording(app_a: ParseApp) -> None:
    refused = await _push(app_a, {"where": {"deviceType": {"$bogus": 1}}, "data": {}})
    assert refused.status_code == 400
    assert refused.json()["code"] in (102, 107)  # as the same where on /classes/_Installation answers
    same = await app_a.request("GET", "/installations", master=True, params={"where": {"deviceType": {"$bogus": 1}}})
    assert same.json() == refused.json()
    bad_name = await _push(app_a, {"where": {"$where": "1"}, "data": {}})
    assert bad_name.status_code == 400
    assert bad_name.json()["code"] in (102, 105)
    assert await _statuses(app_a) == []


async def test_without_the_master_key_nobody_pushes_or_reads_push_statuses(app_a: ParseApp) -> None:
    sent = await _push(app_a, {"where": {}, "data": {"alert": "mine"}})
    status_id = sent.headers["X-Parse-Push-Status-Id"]
    _, token = await _sync_user(app_a)
    probes = [
        {"where": {}, "data": {"alert": "x"}},
        # Targeting by fields a client may never query (a device's token, users' hidden emails) is no way in either.
        {"where": {"deviceToken": {"$regex": "^a"}}, "data": {"alert": "x"}},
        {"where": {"user": {"$inQuery": {"className": "_User", "where": {"email": {"$exists": True}}}}}, "data": {}},
        {"channels": ["news"], "data": {"alert": "x"}},
    ]
    for session in (None, token):
        for body in probes:
            pushed = await app_a.request("POST", "/push", body, session=session)
            assert (pushed.status_code, pushed.json()) == (403, {"error": "unauthorized: master key is required"})
        listed = await app_a.request("GET", "/classes/_PushStatus", session=session)
        assert listed.json() == {
            "code": 119, "error": "Clients aren't allowed to perform the find operation on the _PushStatus collection.",
        }  # fmt: skip
        got = await app_a.request("GET", f"/classes/_PushStatus/{status_id}", session=session)
        assert got.json()["code"] == 119
        forged = await app_a.request(
            "POST", "/classes/_PushStatus", {"status": "pending", "query": "{}"}, session=session
        )
        assert forged.json()["code"] == 119
        changed = await app_a.request("PUT", f"/classes/_PushStatus/{status_id}", {"status": "failed"}, session=session)
        assert changed.json()["code"] == 119
    batch = await app_a.request(
        "POST", "/batch",
        {"requests": [
            {"method": "POST", "path": "/parse/push", "body": {"where": {}, "data": {"alert": "batched"}}},
            {"method": "GET", "path": "/parse/classes/_PushStatus"},
        ]},
    )  # fmt: skip
    assert [item.get("error", {}).get("code") for item in batch.json()] in ([None, 119], [119, 119], [403, 119])
    assert all("success" not in item for item in batch.json())
    rows = await _statuses(app_a)
    assert [row["objectId"] for row in rows] == [status_id]
    assert rows[0]["status"] == "pending"


async def test_a_push_through_a_master_batch_is_recorded(app_a: ParseApp) -> None:
    batch = await app_a.request(
        "POST", "/batch",
        {"requests": [{"method": "POST", "path": "/parse/push", "body": {"channels": ["x"], "data": {"alert": "b"}}}]},
        master=True,
    )  # fmt: skip
    assert batch.json() == [{"success": {"result": True}}]
    assert len(await _statuses(app_a)) == 1


async def test_another_apps_master_key_never_sees_or_changes_a_campaign(app_a: ParseApp, app_b: ParseApp) -> None:
    sent = await _push(app_a, {"where": {}, "data": {"alert": "a only"}})
    status_id = sent.headers["X-Parse-Push-Status-Id"]
    assert (await app_b.request("GET", f"/classes/_PushStatus/{status_id}", master=True)).json()["code"] == 101
    changed = await app_b.request("PUT", f"/classes/_PushStatus/{status_id}", {"status": "failed"}, master=True)
    assert changed.json()["code"] == 101
    assert (await app_b.request("GET", "/classes/_PushStatus", master=True)).json() == {"results": []}
    assert (await _status(app_a, status_id))["status"] == "pending"
    # App A's master key with app B's id is not a key at all.
    headers = {**app_b.headers(), "X-Parse-Master-Key": app_a.tenant.keys["master"]}
    headers.pop("X-Parse-REST-API-Key", None)
    crossed = await app_a.client.post("/parse/push", content=orjson.dumps({"where": {}, "data": {}}), headers=headers)
    assert crossed.status_code in (401, 403)
    assert (await app_b.request("GET", "/classes/_PushStatus", master=True)).json() == {"results": []}


async def test_server_info_advertises_push(app_a: ParseApp) -> None:
    info = (await app_a.request("GET", "/serverInfo", master=True)).json()
    assert info["features"]["push"] == {
        "immediatePush": True, "scheduledPush": True, "storedPushData": True, "pushAudiences": True,
        "localization": True,
    }  # fmt: skip


async def _sync_user(app: ParseApp) -> tuple[str, str]:
    from asgiref.sync import sync_to_async

    return await sync_to_async(insert_user_with_session)(app.tenant, "eve")
