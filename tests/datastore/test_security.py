"""ACLs, roles, class-level permissions and row-level security of the data API."""

from __future__ import annotations

import pytest

from hangar.datastore.connection import app_transaction
from hangar.db_pool import get_pool
from tests.datastore.conftest import ParseApp, insert_user_with_session, set_clp

pytestmark = pytest.mark.django_db(transaction=True)


async def _create(app: ParseApp, class_name: str, body: dict) -> str:
    response = await app.request("POST", f"/classes/{class_name}", body, master=True)
    assert response.status_code == 201, response.text
    return response.json()["objectId"]


async def test_master_only_acl_hides_the_object_as_if_missing(app_a: ParseApp):
    object_id = await _create(app_a, "Secret", {"v": 1, "ACL": {}})
    hidden = await app_a.request("GET", f"/classes/Secret/{object_id}")
    assert (hidden.status_code, hidden.json()) == (404, {"code": 101, "error": "Object not found."})
    assert (await app_a.request("PUT", f"/classes/Secret/{object_id}", {"v": 2})).status_code == 404
    assert (await app_a.request("DELETE", f"/classes/Secret/{object_id}")).status_code == 404
    assert (await app_a.request("GET", f"/classes/Secret/{object_id}", master=True)).json()["v"] == 1
    assert (await app_a.request("GET", "/classes/Secret")).json() == {"results": []}


async def test_user_acl_read_and_write(app_a: ParseApp):
    alice, alice_token = await _sync(insert_user_with_session, app_a.tenant, "alice")
    _, bob_token = await _sync(insert_user_with_session, app_a.tenant, "bob")
    acl = {alice: {"read": True, "write": True}, "*": {"read": True}}
    object_id = await _create(app_a, "Note", {"text": "mine", "ACL": acl})
    assert (await app_a.request("GET", f"/classes/Note/{object_id}", session=bob_token)).status_code == 200
    assert (
        await app_a.request("PUT", f"/classes/Note/{object_id}", {"text": "x"}, session=bob_token)
    ).status_code == 404
    assert (
        await app_a.request("PUT", f"/classes/Note/{object_id}", {"text": "y"}, session=alice_token)
    ).status_code == 200
    got = (await app_a.request("GET", f"/classes/Note/{object_id}")).json()
    assert got["text"] == "y"
    assert got["ACL"] == acl


async def test_invalid_session_token_answers_209_everywhere(app_a: ParseApp):
    response = await app_a.request("GET", "/classes/_User", session="r:not-a-token")
    assert (response.status_code, response.json()) == (400, {"code": 209, "error": "Invalid session token"})


async def test_role_acl_with_inheritance(app_a: ParseApp):
    alice, alice_token = await _sync(insert_user_with_session, app_a.tenant, "alice")
    _, bob_token = await _sync(insert_user_with_session, app_a.tenant, "bob")
    admins = await _create(
        app_a, "_Role",
        {"name": "Admins", "ACL": {"*": {"read": True}},
         "users": {"__op": "AddRelation", "objects": [{"__type": "Pointer", "className": "_User", "objectId": alice}]}},
    )  # fmt: skip
    # Moderators' "roles" relation holds Admins: every admin is also a moderator.
    await _create(
        app_a, "_Role",
        {"name": "Moderators", "ACL": {"*": {"read": True}},
         "roles": {"__op": "AddRelation",
                   "objects": [{"__type": "Pointer", "className": "_Role", "objectId": admins}]}},
    )  # fmt: skip
    object_id = await _create(app_a, "Post", {"t": 1, "ACL": {"role:Moderators": {"read": True, "write": True}}})
    assert (await app_a.request("GET", f"/classes/Post/{object_id}", session=alice_token)).status_code == 200
    assert (await app_a.request("GET", f"/classes/Post/{object_id}", session=bob_token)).status_code == 404


async def test_roles_route_requires_name_and_acl(app_a: ParseApp):
    no_name = await app_a.request("POST", "/roles", {"ACL": {}}, master=True)
    assert no_name.json() == {"code": 111, "error": "name is required."}
    no_acl = await app_a.request("POST", "/roles", {"name": "X"}, master=True)
    assert no_acl.json() == {"code": 111, "error": "ACL is required."}
    created = await app_a.request("POST", "/roles", {"name": "X", "ACL": {"*": {"read": True}}}, master=True)
    assert created.status_code == 201
    listed = (await app_a.request("GET", "/roles")).json()["results"]
    assert [role["name"] for role in listed] == ["X"]


async def test_class_level_permissions(app_a: ParseApp):
    _, token = await _sync(insert_user_with_session, app_a.tenant, "carol")
    object_id = await _create(app_a, "Locked", {"v": 1})
    await set_clp(app_a, "Locked", {"find": {}, "get": {"requiresAuthentication": True}, "create": {"*": True}})
    denied = await app_a.request("GET", "/classes/Locked")
    assert denied.json() == {"code": 119, "error": "Permission denied for action find on class Locked."}
    anonymous = await app_a.request("GET", f"/classes/Locked/{object_id}")
    assert anonymous.json() == {"code": 101, "error": "Permission denied, user needs to be authenticated."}
    assert (await app_a.request("GET", f"/classes/Locked/{object_id}", session=token)).status_code == 200
    assert (await app_a.request("GET", "/classes/Locked", master=True)).status_code == 200


async def test_pointer_permissions_limit_rows_to_the_owner(app_a: ParseApp):
    owner, owner_token = await _sync(insert_user_with_session, app_a.tenant, "olga")
    _, other_token = await _sync(insert_user_with_session, app_a.tenant, "oscar")
    pointer = {"__type": "Pointer", "className": "_User", "objectId": owner}
    object_id = await _create(app_a, "Diary", {"owner": pointer, "entry": "dear diary"})
    await set_clp(app_a, "Diary", {"get": {"pointerFields": ["owner"]}, "find": {"pointerFields": ["owner"]}})
    assert (await app_a.request("GET", f"/classes/Diary/{object_id}", session=owner_token)).status_code == 200
    assert (await app_a.request("GET", f"/classes/Diary/{object_id}", session=other_token)).status_code == 404


async def test_protected_fields_and_user_email(app_a: ParseApp):
    alice, alice_token = await _sync(insert_user_with_session, app_a.tenant, "alice")
    await app_a.request("PUT", f"/classes/_User/{alice}", {"email": "alice@example.com"}, session=alice_token)
    _, bob_token = await _sync(insert_user_with_session, app_a.tenant, "bob")
    as_bob = (await app_a.request("GET", f"/classes/_User/{alice}", session=bob_token)).json()
    assert "email" not in as_bob
    assert as_bob["username"] == "alice"
    as_alice = (await app_a.request("GET", f"/classes/_User/{alice}", session=alice_token)).json()
    assert as_alice["email"] == "alice@example.com"


async def test_row_level_security_hides_rows_of_other_apps_and_of_no_app(app_a: ParseApp, app_b: ParseApp):
    await _create(app_a, "Item", {"n": 1})
    await _create(app_b, "Item", {"n": 2})
    pool = await get_pool()
    async with pool.connection() as conn:
        cursor = await conn.execute("SELECT count(*) FROM datastore_object")  # no app set, no app filter
        assert (await cursor.fetchone())[0] == 0
    async with app_transaction(app_a.tenant.app.pk) as conn:
        cursor = await conn.execute("SELECT DISTINCT app_id FROM datastore_object")  # forgot the app filter
        assert [row[0] for row in await cursor.fetchall()] == [app_a.tenant.app.pk]


async def _sync(function, *args):
    from asgiref.sync import sync_to_async

    return await sync_to_async(function)(*args)


async def test_an_apps_partition_refuses_rows_of_another_app(app_a: ParseApp, app_b: ParseApp):
    """Hot-path statements name the app's partition; a row for another app cannot get into it."""
    import psycopg

    from hangar.datastore.connection import app_statement
    from hangar.datastore.partitions import object_partition

    async with app_statement(app_a.tenant.app.pk) as conn:
        with pytest.raises(psycopg.errors.CheckViolation):
            await conn.execute(
                f"INSERT INTO {object_partition(app_a.tenant.app.pk)} (app_id, class_name, object_id, data) "
                "VALUES (%s, 'X', 'abcdefghij', '{}')",
                [app_b.tenant.app.pk],
            )
