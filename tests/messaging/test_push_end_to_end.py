"""A push from the REST API to the provider's wire: ``/parse/installations`` → ``POST /parse/push`` → Celery
(eager, as every test runs it: settings_test) → the engine → the real FCM adapter → the local FCM HTTP v1
server (OAuth token exchange, ``messages:send``), counted there.

The app's FCM credentials are a service account of the local server, stored as the management API
stores them; nothing between the request and the server is replaced.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from hangar.messaging.provider_credentials import provider_credential_set
from tests.messaging.conftest import ParseApp
from tests.messaging.endpoints.fcm import FcmEndpoint

pytestmark = pytest.mark.django_db(transaction=True)


async def _fcm_credentials(app: ParseApp, fcm: FcmEndpoint) -> None:
    raw = {"service_account": fcm.service_account(), "base_url": fcm.url}
    await sync_to_async(provider_credential_set)(app=app.tenant.app, kind="fcm", raw=raw, actor=None)


async def _device(app: ParseApp, installation_id: str, **fields: Any) -> str:
    body = {"installationId": installation_id, "deviceType": "android", "pushType": "gcm", **fields}
    created = await app.request("POST", "/installations", body, master=True)
    assert created.status_code == 201, created.text
    return str(created.json()["objectId"])


async def _status_when_done(app: ParseApp, status_id: str, seconds: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        response = await app.request("GET", f"/classes/_PushStatus/{status_id}", master=True)
        assert response.status_code == 200, response.text
        row = dict(response.json())
        if row["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
            return row
        await asyncio.sleep(0.1)


def _received(fcm: FcmEndpoint) -> dict[str, dict[str, Any]]:
    """device token → the message the server accepted for it."""
    return {str(message["token"]): message for message in fcm.received}


async def test_a_push_to_a_channel_reaches_each_android_installation_once_through_fcm(
    app_a: ParseApp, app_b: ParseApp, fcm: FcmEndpoint
) -> None:
    await _fcm_credentials(app_a, fcm)
    await _fcm_credentials(app_b, fcm)  # app B can reach FCM too: it must still get nothing of A's push
    first = await _device(app_a, "dev-1", deviceToken="fcm-token-one", channels=["news"], badge=2)
    await _device(app_a, "dev-2", deviceToken="fcm-token-two", channels=["news", "sport"])
    gone = await _device(app_a, "dev-3", deviceToken="fcm-token-gone", channels=["news"])
    await _device(app_a, "dev-4", deviceToken="fcm-token-sport", channels=["sport"])  # not in the channel
    await _device(app_a, "dev-5", channels=["news"])  # no token yet: skipped
    await _device(app_b, "dev-b", deviceToken="fcm-token-of-b", channels=["news"])
    fcm.unregistered.add("fcm-token-gone")  # FCM answers 404 UNREGISTERED for this one

    sent = await app_a.request(
        "POST", "/push", {"channels": ["news"], "data": {"alert": "Hello", "badge": "Increment"}}, master=True
    )
    assert sent.status_code == 200, sent.text
    status_id = sent.headers["X-Parse-Push-Status-Id"]
    status = await _status_when_done(app_a, status_id)

    assert (status["status"], status["numSent"], status["numFailed"]) == ("succeeded", 2, 1), status
    assert status["sentPerType"] == {"android": 2}
    assert status["failedPerType"] == {"android": 1}
    received = _received(fcm)
    assert sorted(received) == ["fcm-token-one", "fcm-token-two"]  # not sport, not app B's, not the gone one
    assert fcm.per_token["fcm-token-one"] == fcm.per_token["fcm-token-two"] == 1
    assert fcm.per_token["fcm-token-of-b"] == 0
    badges = {}
    for token, message in received.items():
        android = message["android"]
        assert android["collapse_key"] == status_id  # a resend after a crash replaces, never adds
        assert android["data"]["push_id"] == status_id
        parse_data = json.loads(android["data"]["data"])
        assert parse_data["alert"] == "Hello"
        badges[token] = parse_data["badge"]
    assert badges == {"fcm-token-one": 3, "fcm-token-two": 1}  # each its own badge, incremented

    one = (await app_a.request("GET", f"/installations/{first}", master=True)).json()
    assert one["badge"] == 3
    unregistered = (await app_a.request("GET", f"/installations/{gone}", master=True)).json()
    assert "deviceToken" not in unregistered  # Parse Server's cleanup of a dead token
    of_b = (await app_b.request("GET", "/installations", master=True)).json()["results"]
    assert [i["deviceToken"] for i in of_b] == ["fcm-token-of-b"]
    assert "badge" not in of_b[0]  # A's increment never touched B's installation

    # (The tick's "nothing sent twice" is test_engine_tasks.py's: the tick's query over every app's
    # partition runs out of PostgreSQL lock slots with the full suite's thousand-odd apps.)
    # App B's own _PushStatus list holds nothing of A's.
    assert (await app_b.request("GET", "/classes/_PushStatus", master=True)).json()["results"] == []


async def test_an_app_without_credentials_never_reaches_the_provider(app_a: ParseApp, fcm: FcmEndpoint) -> None:
    """No FCM credentials: the log provider records the send, the FCM server (another app's) sees nothing."""
    await _device(app_a, "dev-1", deviceToken="fcm-token-nocreds", channels=["news"])
    sent = await app_a.request("POST", "/push", {"channels": ["news"], "data": {"alert": "x"}}, master=True)
    assert sent.status_code == 200, sent.text
    status = await _status_when_done(app_a, sent.headers["X-Parse-Push-Status-Id"])
    assert (status["status"], status["numSent"]) == ("succeeded", 1)
    assert fcm.per_token == {}
