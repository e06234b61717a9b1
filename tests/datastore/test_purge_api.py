"""``DELETE /purge/:className``: empty a class, keep its schema."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.db import connection

from tests.datastore.conftest import ParseApp, insert_user_with_session

pytestmark = pytest.mark.django_db(transaction=True)


async def _create(app: ParseApp, class_name: str, body: dict) -> str:
    response = await app.request("POST", f"/classes/{class_name}", body, master=True)
    assert response.status_code == 201, response.text
    return response.json()["objectId"]


def _relation_rows(app_pk: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM datastore_relation WHERE app_id = %s", [app_pk])
        return int(cursor.fetchone()[0])


async def test_purge_needs_the_master_key(app_a: ParseApp):
    await _create(app_a, "Game", {"n": 1})
    refused = await app_a.request("DELETE", "/purge/Game")
    assert (refused.status_code, refused.json()) == (403, {"error": "unauthorized: master key is required"})
    assert len((await app_a.request("GET", "/classes/Game")).json()["results"]) == 1


async def test_purge_deletes_objects_and_their_relations_but_keeps_the_schema(app_a: ParseApp):
    user_id, _ = await sync_to_async(insert_user_with_session)(app_a.tenant, "fan")
    fan = {"__type": "Pointer", "className": "_User", "objectId": user_id}
    await _create(app_a, "Game", {"n": 1, "fans": {"__op": "AddRelation", "objects": [fan]}})
    await _create(app_a, "Game", {"n": 2})
    kept = await _create(app_a, "Other", {"n": 3})
    assert await sync_to_async(_relation_rows)(app_a.tenant.app.pk) == 1

    response = await app_a.request("DELETE", "/purge/Game", master=True)
    assert (response.status_code, response.json()) == (200, {})
    assert (await app_a.request("GET", "/classes/Game")).json() == {"results": []}
    assert await sync_to_async(_relation_rows)(app_a.tenant.app.pk) == 0
    assert (await app_a.request("GET", f"/classes/Other/{kept}")).status_code == 200
    schema = (await app_a.request("GET", "/schemas/Game", master=True)).json()
    assert schema["fields"]["fans"] == {"type": "Relation", "targetClass": "_User"}
    assert (await app_a.request("POST", "/classes/Game", {"n": 4})).status_code == 201


async def test_purging_a_missing_class_succeeds(app_a: ParseApp):
    response = await app_a.request("DELETE", "/purge/Nothing", master=True)
    assert (response.status_code, response.json()) == (200, {})


async def test_purging_roles_takes_effect_at_once(app_a: ParseApp):
    alice, token = await sync_to_async(insert_user_with_session)(app_a.tenant, "alice")
    member = {"__type": "Pointer", "className": "_User", "objectId": alice}
    await _create(
        app_a,
        "_Role",
        {"name": "Staff", "ACL": {"*": {"read": True}}, "users": {"__op": "AddRelation", "objects": [member]}},
    )
    object_id = await _create(app_a, "Memo", {"t": 1, "ACL": {"role:Staff": {"read": True}}})
    assert (await app_a.request("GET", f"/classes/Memo/{object_id}", session=token)).status_code == 200
    assert (await app_a.request("DELETE", "/purge/_Role", master=True)).status_code == 200
    assert (await app_a.request("GET", f"/classes/Memo/{object_id}", session=token)).status_code == 404


async def test_purge_by_another_app_leaves_this_apps_objects(app_a: ParseApp, app_b: ParseApp):
    mine = await _create(app_a, "Game", {"n": 1})
    await _create(app_b, "Game", {"n": 2})
    assert (await app_b.request("DELETE", "/purge/Game", master=True)).json() == {}
    assert (await app_b.request("GET", "/classes/Game", master=True)).json() == {"results": []}
    results = (await app_a.request("GET", "/classes/Game", master=True)).json()["results"]
    assert [obj["objectId"] for obj in results] == [mine]
    # A's application id with B's master key is refused outright.
    crossed = await app_b.client.delete(
        "/parse/purge/Game",
        headers={
            "X-Parse-Application-Id": app_a.tenant.application_id,
            "X-Parse-Master-Key": app_b.tenant.keys["master"],
        },
    )
    assert crossed.status_code == 403
    assert len((await app_a.request("GET", "/classes/Game", master=True)).json()["results"]) == 1
