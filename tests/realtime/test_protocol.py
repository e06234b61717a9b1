"""The LiveQuery protocol against a live server: connect, subscribe, events, unsubscribe, errors."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from hangar.invalidation import publish_app_changed
from tenants.models import App
from tests.conftest import Tenant
from tests.realtime.conftest import Rest

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


async def test_subscribe_then_create_update_delete_are_delivered(live_client, tenant_a: Tenant, rest_a: Rest):
    await rest_a.call("POST", "/classes/Game", {"kind": "seed"})  # a class that does not exist is refused (119)
    async with live_client() as client:
        connected = await client.connect(tenant_a)
        assert connected["op"] == "connected"
        assert connected["clientId"]
        subscribed = await client.subscribe(1, "Game", {"kind": "arcade"})
        assert subscribed == {"op": "subscribed", "clientId": connected["clientId"], "requestId": 1}
        created = await rest_a.call("POST", "/classes/Game", {"kind": "arcade", "score": 1})
        event = await client.expect("create")
        assert event["requestId"] == 1
        assert event["object"]["objectId"] == created["objectId"]
        assert event["object"]["className"] == "Game"
        assert event["object"]["score"] == 1
        assert "original" not in event
        await rest_a.call("PUT", f"/classes/Game/{created['objectId']}", {"score": 2})
        event = await client.expect("update")
        assert (event["original"]["score"], event["object"]["score"]) == (1, 2)
        await rest_a.call("DELETE", f"/classes/Game/{created['objectId']}")
        event = await client.expect("delete")
        assert event["object"]["objectId"] == created["objectId"]
        await rest_a.call("POST", "/classes/Game", {"kind": "puzzle"})  # does not match
        await client.quiet()


async def test_enter_and_leave_carry_the_original(live_client, tenant_a: Tenant, rest_a: Rest):
    game = await rest_a.call("POST", "/classes/Game", {"kind": "puzzle", "score": 1})
    async with live_client() as client:
        await client.connect(tenant_a)
        assert (await client.subscribe(1, "Game", {"kind": "arcade"}))["op"] == "subscribed"
        await rest_a.call("PUT", f"/classes/Game/{game['objectId']}", {"kind": "arcade"})
        entered = await client.expect("enter")
        assert (entered["original"]["kind"], entered["object"]["kind"]) == ("puzzle", "arcade")
        await rest_a.call("PUT", f"/classes/Game/{game['objectId']}", {"kind": "racing"})
        left = await client.expect("leave")
        assert (left["original"]["kind"], left["object"]["kind"]) == ("arcade", "racing")


async def test_keys_fields_and_watch(live_client, tenant_a: Tenant, rest_a: Rest):
    game = await rest_a.call("POST", "/classes/Game", {"kind": "k", "score": 1, "name": "a"})
    async with live_client() as client:
        await client.connect(tenant_a)
        assert (await client.subscribe(1, "Game", {"kind": "k"}, keys=["score"]))["op"] == "subscribed"
        assert (await client.subscribe(2, "Game", {"kind": "k"}, fields=["name"]))["op"] == "subscribed"
        assert (await client.subscribe(3, "Game", {"kind": "k"}, watch=["name"]))["op"] == "subscribed"
        await rest_a.call("PUT", f"/classes/Game/{game['objectId']}", {"score": 2})
        by_request = {}
        for _ in range(2):
            frame = await client.expect("update")
            by_request[frame["requestId"]] = frame
        await client.quiet()  # the watcher of name heard nothing: only score changed
        assert set(by_request[1]["object"]) == {"objectId", "createdAt", "updatedAt", "className", "score"}
        assert set(by_request[2]["object"]) == {"objectId", "createdAt", "updatedAt", "className", "name"}
        await rest_a.call("PUT", f"/classes/Game/{game['objectId']}", {"name": "b"})
        heard = {(await client.expect("update"))["requestId"] for _ in range(3)}
        assert heard == {1, 2, 3}


async def test_update_replaces_the_query_and_unsubscribe_stops_events(live_client, tenant_a: Tenant, rest_a: Rest):
    await rest_a.call("POST", "/classes/Game", {"kind": "seed"})
    async with live_client() as client:
        connected = await client.connect(tenant_a)
        await client.subscribe(7, "Game", {"kind": "a"})
        await client.send({"op": "update", "requestId": 7, "query": {"className": "Game", "where": {"kind": "b"}}})
        assert (await client.expect("subscribed"))["requestId"] == 7
        await rest_a.call("POST", "/classes/Game", {"kind": "a"})
        created = await rest_a.call("POST", "/classes/Game", {"kind": "b"})
        assert (await client.expect("create"))["object"]["objectId"] == created["objectId"]
        await client.send({"op": "unsubscribe", "requestId": 7})
        assert await client.expect("unsubscribed") == {
            "op": "unsubscribed", "clientId": connected["clientId"], "requestId": 7
        }  # fmt: skip
        await rest_a.call("POST", "/classes/Game", {"kind": "b"})
        await client.quiet()


async def test_protocol_errors_answer_parse_codes(live_client, tenant_a: Tenant):
    async with live_client() as client:
        await client.send({"op": "subscribe", "requestId": 1, "query": {"className": "Game", "where": {}}})
        early = await client.expect("error")
        assert early["code"] == 2
        assert early["error"] == "Can not find this client, make sure you connect to server before subscribing"
        await client.socket.send("this is not json")  # ignored, as Parse Server does
        await client.send({"op": "bogus"})
        assert (await client.expect("error"))["code"] == 1
        await client.send({"op": "connect"})
        assert (await client.expect("error"))["error"] == "Missing required property: applicationId"
        await client.send({"op": "connect", "applicationId": tenant_a.application_id, "extra": 1})
        assert (await client.expect("error"))["error"] == "Additional properties not allowed"
        await client.connect(tenant_a)
        await client.send({"op": "unsubscribe", "requestId": 99})
        unknown = await client.expect("error")
        assert (unknown["code"], unknown["requestId"]) == (2, 99)
        refused = await client.subscribe(5, "NoSuchClass")
        assert (refused["op"], refused["code"], refused["requestId"]) == ("error", 119, 5)


async def test_wrong_application_id_or_key_is_refused_and_closed(live_client, tenant_a: Tenant, tenant_b: Tenant):
    for message in (
        {"op": "connect", "applicationId": "no-such-app", "javascriptKey": tenant_a.keys["javascript"]},
        {"op": "connect", "applicationId": tenant_a.application_id, "javascriptKey": "wrong"},
        {"op": "connect", "applicationId": tenant_a.application_id},
        # App B's key does not open app A.
        {"op": "connect", "applicationId": tenant_a.application_id, "masterKey": tenant_b.keys["master"]},
    ):
        async with live_client() as client:
            await client.send(message)
            error = await client.expect("error")
            assert (error["code"], error["error"]) == (4, "Key in request is not valid")
            await client.socket.wait_closed()


async def test_an_app_may_restrict_live_query_to_some_classes(live_client, tenant_a: Tenant, rest_a: Rest):
    await rest_a.call("POST", "/classes/Open", {"seed": True})
    await rest_a.call("POST", "/classes/Closed", {"seed": True})
    await App.objects.filter(pk=tenant_a.app.pk).aupdate(live_query_classes=["Open"])
    await sync_to_async(publish_app_changed)(tenant_a.application_id)  # as the service does after commit
    async with live_client() as client:
        await client.connect(tenant_a, key="master")
        assert (await client.subscribe(1, "Open"))["op"] == "subscribed"
        refused = await client.subscribe(2, "Closed")  # not even the master key
        assert (refused["op"], refused["code"]) == ("error", 119)
        assert refused["error"] == "LiveQuery is not enabled for class Closed in this app."
