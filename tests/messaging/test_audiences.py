"""``/push_audiences`` as Parse Server's AudiencesRouter, ``_Audience`` master-only, and an audience's live count."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from asgiref.sync import sync_to_async
from rest_framework.test import APIClient

from tests.conftest import Tenant
from tests.datastore.conftest import insert_user_with_session
from tests.messaging.conftest import ParseApp
from tests.tenants.conftest import app_url, client_for

pytestmark = pytest.mark.django_db(transaction=True)


async def _install(app: ParseApp, installation_id: str, **fields: Any) -> str:
    body = {"installationId": installation_id, "deviceType": "ios", **fields}
    response = await app.request("POST", "/installations", body, master=True)
    assert response.status_code == 201, response.text
    return str(response.json()["objectId"])


async def test_push_audiences_create_list_get_update_delete_as_parse(app_a: ParseApp) -> None:
    assert (await app_a.request("GET", "/push_audiences", master=True)).json() == {"results": []}
    query = {"deviceType": {"$in": ["ios"]}, "channels": {"$all": ["news"]}}
    created = await app_a.request(
        "POST", "/push_audiences", {"name": "iOS news", "query": orjson.dumps(query).decode()}, master=True
    )
    assert created.status_code == 201, created.text
    audience_id = created.json()["objectId"]
    listed = (await app_a.request("GET", "/push_audiences", master=True)).json()["results"]
    assert [(a["objectId"], a["name"], a["query"]) for a in listed] == [(audience_id, "iOS news", query)]
    got = (await app_a.request("GET", f"/push_audiences/{audience_id}", master=True)).json()
    assert got["query"] == query  # parsed back, as Parse Server answers
    stored = (await app_a.request("GET", f"/classes/_Audience/{audience_id}", master=True)).json()
    assert stored["query"] == orjson.dumps(query).decode()  # a JSON string, as Parse stores it
    renamed = await app_a.request("PUT", f"/push_audiences/{audience_id}", {"name": "iOS"}, master=True)
    assert renamed.status_code == 200, renamed.text
    as_object = await app_a.request("POST", "/push_audiences", {"name": "all", "query": {}}, master=True)
    assert as_object.status_code == 201
    names = [
        a["name"]
        for a in (await app_a.request("GET", "/push_audiences", master=True, params={"order": "name"})).json()[
            "results"
        ]
    ]
    assert names == ["all", "iOS"]
    assert (await app_a.request("DELETE", f"/push_audiences/{audience_id}", master=True)).json() == {}
    assert (await app_a.request("GET", f"/push_audiences/{audience_id}", master=True)).json()["code"] == 101


async def test_an_audience_query_must_be_a_json_object(app_a: ParseApp) -> None:
    for query in ("not json", "[1]", 5):
        refused = await app_a.request("POST", "/push_audiences", {"name": "bad", "query": query}, master=True)
        assert refused.json()["code"] in (107, 111), refused.text
    assert (await app_a.request("GET", "/push_audiences", master=True)).json() == {"results": []}


async def test_a_push_to_an_audience_uses_its_query_and_counts_its_use(app_a: ParseApp) -> None:
    query = {"channels": "vip"}
    audience_id = (
        await app_a.request(
            "POST", "/push_audiences", {"name": "vip", "query": orjson.dumps(query).decode()}, master=True
        )
    ).json()["objectId"]
    sent = await app_a.request("POST", "/push", {"audience_id": audience_id, "data": {"alert": "hey"}}, master=True)
    assert sent.status_code == 200, sent.text
    status = (
        await app_a.request("GET", f"/classes/_PushStatus/{sent.headers['X-Parse-Push-Status-Id']}", master=True)
    ).json()
    assert orjson.loads(status["query"]) == query
    # As the Parse Dashboard sends it: the audience's query as `where`, plus its id.
    again = await app_a.request(
        "POST", "/push", {"where": query, "audience_id": audience_id, "data": {"alert": "again"}}, master=True
    )
    assert again.status_code == 200
    audience = (await app_a.request("GET", f"/push_audiences/{audience_id}", master=True)).json()
    assert audience["timesUsed"] == 2
    assert audience["lastUsed"]["__type"] == "Date"
    missing = await app_a.request("POST", "/push", {"audience_id": "nope123", "data": {}}, master=True)
    assert missing.json() == {"code": 101, "error": "Audience not found."}


async def test_clients_never_read_or_write_audiences(app_a: ParseApp) -> None:
    audience_id = (await app_a.request("POST", "/push_audiences", {"name": "a", "query": "{}"}, master=True)).json()[
        "objectId"
    ]
    _, token = await sync_to_async(insert_user_with_session)(app_a.tenant, "mallory")
    for session in (None, token):
        for method, path, body in [
            ("GET", "/push_audiences", None), ("GET", f"/push_audiences/{audience_id}", None),
            ("POST", "/push_audiences", {"name": "x", "query": "{}"}),
            ("PUT", f"/push_audiences/{audience_id}", {"name": "x"}),
            ("DELETE", f"/push_audiences/{audience_id}", None),
        ]:  # fmt: skip
            denied = await app_a.request(method, path, body, session=session)
            assert denied.status_code == 403, (method, path)
        for method, path, body in [
            ("GET", "/classes/_Audience", None), ("GET", f"/classes/_Audience/{audience_id}", None),
            ("POST", "/classes/_Audience", {"name": "x", "query": "{}"}),
            ("PUT", f"/classes/_Audience/{audience_id}", {"name": "x"}),
            ("DELETE", f"/classes/_Audience/{audience_id}", None),
        ]:  # fmt: skip
            denied = await app_a.request(method, path, body, session=session)
            assert denied.json()["code"] == 119, (method, path)
    batch = await app_a.request(
        "POST", "/batch", {"requests": [{"method": "GET", "path": "/parse/classes/_Audience"}]}, session=token
    )
    assert batch.json()[0]["error"]["code"] == 119
    [only] = (await app_a.request("GET", "/push_audiences", master=True)).json()["results"]
    assert only["name"] == "a"


async def test_another_apps_master_key_never_sees_an_audience(app_a: ParseApp, app_b: ParseApp) -> None:
    audience_id = (await app_a.request("POST", "/push_audiences", {"name": "a", "query": "{}"}, master=True)).json()[
        "objectId"
    ]
    assert (await app_b.request("GET", "/push_audiences", master=True)).json() == {"results": []}
    assert (await app_b.request("GET", f"/push_audiences/{audience_id}", master=True)).json()["code"] == 101
    assert (await app_b.request("PUT", f"/push_audiences/{audience_id}", {"name": "b"}, master=True)).json()[
        "code"
    ] == 101
    assert (await app_b.request("DELETE", f"/push_audiences/{audience_id}", master=True)).json()["code"] == 101
    pushed = await app_b.request("POST", "/push", {"audience_id": audience_id, "data": {}}, master=True)
    assert pushed.json()["code"] == 101
    assert (await app_b.request("GET", "/classes/_PushStatus", master=True)).json() == {"results": []}


def _count(client: APIClient, tenant: Tenant, suffix: str, body: Any = None) -> Any:
    if body is None:
        return client.get(app_url(tenant, suffix))
    return client.post(app_url(tenant, suffix), body, format="json")


async def test_the_management_api_counts_an_audience_live(app_a: ParseApp, tenant_a: Tenant, tenant_b: Tenant) -> None:
    await _install(app_a, "d-1", channels=["news"])
    await _install(app_a, "d-2", channels=["news", "sport"], deviceType="android")
    await _install(app_a, "d-3", channels=["sport"])
    audience_id = (
        await app_a.request("POST", "/push_audiences", {"name": "news", "query": '{"channels": "news"}'}, master=True)
    ).json()["objectId"]
    alice = await sync_to_async(client_for)(tenant_a.developer)
    bob = await sync_to_async(client_for)(tenant_b.developer)
    counted = await sync_to_async(_count)(alice, tenant_a, f"/push/audiences/{audience_id}/count")
    assert (counted.status_code, counted.json()) == (200, {"count": 2})
    await _install(app_a, "d-4", channels=["news"])
    assert (await sync_to_async(_count)(alice, tenant_a, f"/push/audiences/{audience_id}/count")).json() == {"count": 3}
    adhoc = await sync_to_async(_count)(alice, tenant_a, "/push/audiences/count", {"where": {"deviceType": "ios"}})
    assert adhoc.json() == {"count": 3}
    bad = await sync_to_async(_count)(alice, tenant_a, "/push/audiences/count", {"where": {"x": {"$bogus": 1}}})
    assert bad.status_code == 400
    missing = await sync_to_async(_count)(alice, tenant_a, "/push/audiences/nope/count")
    assert missing.status_code == 404
    # Bob is not in Alice's organization: her app and its audience do not exist for him.
    for suffix, body in [(f"/push/audiences/{audience_id}/count", None), ("/push/audiences/count", {"where": {}})]:
        denied = await sync_to_async(_count)(bob, tenant_a, suffix, body)
        assert denied.status_code == 404
    # Bob's own app with Alice's audience id: another app's data plane, nothing found.
    crossed = await sync_to_async(_count)(bob, tenant_b, f"/push/audiences/{audience_id}/count")
    assert crossed.status_code == 404


async def test_a_viewer_counts_saved_audiences_but_never_runs_a_query_of_their_own(
    app_a: ParseApp, tenant_a: Tenant, member_of: Any
) -> None:
    """An ad-hoc count runs as the app's master: matched one character at a time, it would read device tokens."""
    await _install(app_a, "d-1", channels=["news"], deviceToken="secret-token-1")
    audience_id = (
        await app_a.request("POST", "/push_audiences", {"name": "news", "query": '{"channels": "news"}'}, master=True)
    ).json()["objectId"]
    viewer = (await sync_to_async(member_of)("viewer")).client
    saved = await sync_to_async(_count)(viewer, tenant_a, f"/push/audiences/{audience_id}/count")
    assert (saved.status_code, saved.json()) == (200, {"count": 1})
    probe = {"where": {"deviceToken": {"$regex": "^s"}}}
    refused = await sync_to_async(_count)(viewer, tenant_a, "/push/audiences/count", probe)
    assert refused.status_code == 403
    developer = (await sync_to_async(member_of)("developer")).client
    assert (await sync_to_async(_count)(developer, tenant_a, "/push/audiences/count", probe)).json() == {"count": 1}
