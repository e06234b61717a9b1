"""The LiveQuery protocol against a live server: connect, subscribe, events, unsubscribe, errors."""

from __future__ import annotations

import pytest

from tests.conftest import Tenant
from tests.realtime.conftest import Rest

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


async def test_subscribe_then_create_update_delete_are_delivered(live_client, tenant_a: Tenant, rest_a: Rest):
    await rest_a.call("POST", "/classes/Game", {"kind": "seed"})  # a class that does not exist is refused (119)
    async with live_client() as client:
        connected = await client.connect(tenant_a)
        assert connected["op"] == "connected" and connected["clientId"]
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
