"""Batch requests, the LiveQuery change feed, and app B never reaching app A's data."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from hangar.datastore.change_feed import change_pattern, live_classes_set
from hangar.redis_async import get_redis
from tests.datastore.conftest import ParseApp

pytestmark = pytest.mark.django_db(transaction=True)


async def test_batch_runs_items_in_order_with_per_item_results(app_a: ParseApp):
    first = (await app_a.request("POST", "/classes/Game", {"score": 1}, master=True)).json()["objectId"]
    response = await app_a.request(
        "POST", "/batch",
        {"requests": [
            {"method": "POST", "path": "/parse/classes/Game", "body": {"score": 2}},
            {"method": "PUT", "path": f"/parse/classes/Game/{first}", "body": {"score": 10}},
            {"method": "DELETE", "path": "/parse/classes/Game/nope123456"},
            {"method": "GET", "path": f"/parse/classes/Game/{first}"},
        ]},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    results = response.json()
    assert "objectId" in results[0]["success"]
    assert "updatedAt" in results[1]["success"]
    assert results[2] == {"error": {"code": 101, "error": "Object not found."}}
    assert results[3]["success"]["score"] == 10


async def test_batch_errors(app_a: ParseApp):
    not_array = await app_a.request("POST", "/batch", {"requests": {}})
    assert not_array.json() == {"code": 107, "error": "requests must be an array"}
    foreign = await app_a.request("POST", "/batch", {"requests": [{"method": "GET", "path": "/other/classes/X"}]})
    assert foreign.json() == {"code": 107, "error": "cannot route batch path /other/classes/X"}
    too_many = await app_a.request("POST", "/batch", {"requests": [{"method": "GET", "path": "/parse/x"}] * 51})
    assert too_many.json()["code"] == 107


async def test_transactional_batch_is_all_or_nothing(app_a: ParseApp):
    await app_a.request("POST", "/classes/Ledger", {"amount": 1}, master=True)
    failed = await app_a.request(
        "POST", "/batch",
        {"transaction": True, "requests": [
            {"method": "POST", "path": "/parse/classes/Ledger", "body": {"amount": 5}},
            {"method": "POST", "path": "/parse/classes/Ledger", "body": {"amount": "five"}},
        ]},
    )  # fmt: skip
    assert failed.status_code == 400
    assert failed.json()["code"] == 111
    amounts = [r["amount"] for r in (await app_a.request("GET", "/classes/Ledger")).json()["results"]]
    assert amounts == [1]
    ok = await app_a.request(
        "POST", "/batch",
        {"transaction": True, "requests": [
            {"method": "POST", "path": "/parse/classes/Ledger", "body": {"amount": 7}},
            {"method": "POST", "path": "/parse/classes/Ledger", "body": {"amount": 8}},
        ]},
    )  # fmt: skip
    assert ok.status_code == 200
    assert len(ok.json()) == 2
    assert len((await app_a.request("GET", "/classes/Ledger")).json()["results"]) == 3


async def test_committed_changes_are_published_for_livequery(app_a: ParseApp):
    await live_classes_set(app_a.tenant.app.pk, ["Live"])
    pubsub = get_redis().pubsub()
    await pubsub.psubscribe(change_pattern(app_a.tenant.app.pk))
    await pubsub.get_message(timeout=1)  # the subscribe confirmation
    created = (await app_a.request("POST", "/classes/Live", {"v": 1, "ACL": {"*": {"read": True}}}, master=True)).json()
    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=2)
    event = orjson.loads(message["data"])
    assert event["op"] == "create"
    assert event["className"] == "Live"
    assert event["object"]["objectId"] == created["objectId"]
    assert event["readersAfter"] == ["*"]
    # A rolled-back transactional batch publishes nothing.
    await app_a.request(
        "POST", "/batch",
        {"transaction": True, "requests": [
            {"method": "POST", "path": "/parse/classes/Live", "body": {"v": 2}},
            {"method": "POST", "path": "/parse/classes/Live", "body": {"v": "bad"}},
        ]},
    )  # fmt: skip
    assert await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5) is None
    await pubsub.aclose()
    await live_classes_set(app_a.tenant.app.pk, [])


async def test_only_classes_with_listeners_are_published(app_a: ParseApp, app_b: ParseApp):
    app_pk = app_a.tenant.app.pk
    pubsub = get_redis().pubsub()
    await pubsub.psubscribe(change_pattern(app_pk))
    await pubsub.get_message(timeout=1)

    async def next_event() -> dict | None:
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5)
        return None if message is None else orjson.loads(message["data"])

    await app_a.request("POST", "/classes/Quiet", {"v": 1}, master=True)
    assert await next_event() is None  # nobody listens: nothing is serialised or sent
    await live_classes_set(app_pk, ["Other"])
    await app_a.request("POST", "/classes/Quiet", {"v": 2}, master=True)
    assert await next_event() is None
    await live_classes_set(app_b.tenant.app.pk, ["*"])  # another app's listeners change nothing here
    await app_a.request("POST", "/classes/Quiet", {"v": 3}, master=True)
    assert await next_event() is None
    await live_classes_set(app_pk, ["*"])  # listening to every class, as of the next request
    created = (await app_a.request("POST", "/classes/Quiet", {"v": 4}, master=True)).json()
    assert (await next_event())["op"] == "create"
    await app_a.request("PUT", f"/classes/Quiet/{created['objectId']}", {"v": 5}, master=True)
    updated = await next_event()
    assert (updated["op"], updated["original"]["v"], updated["object"]["v"]) == ("update", 4, 5)
    await app_a.request("DELETE", f"/classes/Quiet/{created['objectId']}", master=True)
    assert (await next_event())["op"] == "delete"
    await live_classes_set(app_pk, [])
    await app_a.request("POST", "/classes/Quiet", {"v": 6}, master=True)
    assert await next_event() is None
    await live_classes_set(app_b.tenant.app.pk, [])
    await pubsub.aclose()


async def test_app_b_cannot_reach_app_a_objects(app_a: ParseApp, app_b: ParseApp):
    secret = (await app_a.request("POST", "/classes/Doc", {"text": "a's"}, master=True)).json()["objectId"]
    await app_b.request("POST", "/classes/Doc", {"text": "b's"}, master=True)
    for master in (False, True):
        got = await app_b.request("GET", f"/classes/Doc/{secret}", master=master)
        assert got.status_code == 404
        assert (await app_b.request("PUT", f"/classes/Doc/{secret}", {"text": "x"}, master=master)).status_code == 404
        assert (await app_b.request("DELETE", f"/classes/Doc/{secret}", master=master)).status_code == 404
        listed = (await app_b.request("GET", "/classes/Doc", master=master)).json()["results"]
        assert [d["text"] for d in listed] == ["b's"]
    batch = await app_b.request(
        "POST", "/batch", {"requests": [{"method": "GET", "path": f"/parse/classes/Doc/{secret}"}]}
    )
    assert batch.json()[0]["error"]["code"] == 101
    # A pointer from B's object to A's id includes nothing: the lookup is confined to app B.
    pointer = {"__type": "Pointer", "className": "Doc", "objectId": secret}
    holder = (await app_b.request("POST", "/classes/Holder", {"doc": pointer}, master=True)).json()["objectId"]
    included = (await app_b.request("GET", f"/classes/Holder/{holder}", params={"include": "doc"}, master=True)).json()
    assert "doc" not in included
    # And A still has its document, unchanged.
    assert (await app_a.request("GET", f"/classes/Doc/{secret}")).json()["text"] == "a's"
    await asyncio.sleep(0)
