"""A role's grant belongs to one role object: names are required, unique per app, valid and immutable."""

from __future__ import annotations

import asyncio
import importlib
import secrets
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from tests.datastore.conftest import ParseApp
from tests.identity.conftest import sign_up, sql

pytestmark = pytest.mark.django_db(transaction=True)

DUPLICATE = {"code": 137, "error": "A duplicate value for a field with unique values was provided"}
RENAME = {"code": -1, "error": "A role's name can only be set before it has been saved."}
ACL_REQUIRED = {"code": 111, "error": "ACL is required."}
NAME_REQUIRED = {"code": 111, "error": "name is required."}
BAD_NAME = {"code": -1, "error": "A role's name can be only contain alphanumeric characters, _, -, and spaces."}
NOT_STRING = {"code": -1, "error": "A role's name must be a String."}
TOO_LONG = {"code": -1, "error": "A role's name can be at most 1024 characters long."}
PUBLIC_READ = {"*": {"read": True}}


def _user(user_id: str) -> dict[str, str]:
    return {"__type": "Pointer", "className": "_User", "objectId": user_id}


def _role(role_id: str) -> dict[str, str]:
    return {"__type": "Pointer", "className": "_Role", "objectId": role_id}


async def _admin_setup(app: ParseApp) -> dict[str, Any]:
    """An ``Admin`` role (public read, master-only write) holding ``boss``, a secret only Admin may read,
    and a freshly signed-up ``mallory`` who would like to read it."""
    boss = await sign_up(app, "boss")
    admin = await app.request(
        "POST", "/roles",
        {"name": "Admin", "ACL": PUBLIC_READ, "users": {"__op": "AddRelation", "objects": [_user(boss["objectId"])]}},
        master=True,
    )  # fmt: skip
    assert admin.status_code == 201, admin.text
    secret = await app.request(
        "POST", "/classes/Vault", {"gold": 1, "ACL": {"role:Admin": {"read": True}}}, master=True
    )
    mallory = await sign_up(app, "mallory")
    return {
        "admin_id": admin.json()["objectId"], "secret_id": secret.json()["objectId"],
        "boss": boss["sessionToken"], "mallory": mallory["sessionToken"], "mallory_id": mallory["objectId"],
    }  # fmt: skip


async def _sees_secret(app: ParseApp, setup: dict[str, Any], token: str) -> bool:
    response = await app.request("GET", f"/classes/Vault/{setup['secret_id']}", session=token)
    return response.status_code == 200


async def _role_names(app: ParseApp) -> list[str]:
    return sorted(role["name"] for role in (await app.request("GET", "/roles", master=True)).json()["results"])


async def test_a_second_role_of_a_granted_name_is_refused_on_every_route(app_a: ParseApp) -> None:
    setup = await _admin_setup(app_a)
    body = {"name": "Admin", "ACL": {setup["mallory_id"]: {"read": True, "write": True}},
            "users": {"__op": "AddRelation", "objects": [_user(setup["mallory_id"])]}}  # fmt: skip
    for path in ("/roles", "/classes/_Role"):
        response = await app_a.request("POST", path, body, session=setup["mallory"])
        assert (response.status_code, response.json()) == (400, DUPLICATE)
    batch = await app_a.request(
        "POST", "/batch", {"requests": [{"method": "POST", "path": "/parse/roles", "body": body}]},
        session=setup["mallory"],
    )  # fmt: skip
    assert batch.json() == [{"error": DUPLICATE}]
    in_transaction = await app_a.request(
        "POST", "/batch",
        {"transaction": True, "requests": [{"method": "POST", "path": "/parse/classes/_Role", "body": body}]},
        session=setup["mallory"],
    )  # fmt: skip
    assert in_transaction.json() == DUPLICATE
    master = await app_a.request("POST", "/roles", {"name": "Admin", "ACL": PUBLIC_READ}, master=True)
    assert master.json() == DUPLICATE
    assert await _role_names(app_a) == ["Admin"]
    assert not await _sees_secret(app_a, setup, setup["mallory"])
    assert await _sees_secret(app_a, setup, setup["boss"])


async def test_a_role_cannot_be_renamed_by_any_syntax_even_with_the_master_key(app_a: ParseApp) -> None:
    setup = await _admin_setup(app_a)
    own_acl = {setup["mallory_id"]: {"read": True, "write": True}}
    mine = await app_a.request(
        "POST", "/roles",
        {"name": "Mine", "ACL": own_acl, "users": {"__op": "AddRelation", "objects": [_user(setup["mallory_id"])]}},
        session=setup["mallory"],
    )  # fmt: skip
    assert mine.status_code == 201, mine.text
    mine_id = mine.json()["objectId"]
    for body in ({"name": "Owner"}, {"name": "Admin"}, {"name": {"__op": "Delete"}}, {"name": None},
                 {"name.x": 1}, {"name": "Mine"}):  # fmt: skip
        for path in (f"/roles/{mine_id}", f"/classes/_Role/{mine_id}"):
            response = await app_a.request("PUT", path, body, session=setup["mallory"])
            assert (response.status_code, response.json()) == (400, RENAME), (path, body)
    batch = await app_a.request(
        "POST", "/batch",
        {"requests": [{"method": "PUT", "path": f"/parse/roles/{mine_id}", "body": {"name": "Owner"}}]},
        session=setup["mallory"],
    )  # fmt: skip
    assert batch.json() == [{"error": RENAME}]
    master = await app_a.request("PUT", f"/roles/{setup['admin_id']}", {"name": "Chief"}, master=True)
    assert master.json() == RENAME
    # Changing anything else of one's own role still works (a field the developer declared: clients
    # may not add fields to system classes).
    assert (await app_a.request("PUT", f"/roles/{mine_id}", {"note": "declared"}, master=True)).status_code == 200
    assert (await app_a.request("PUT", f"/roles/{mine_id}", {"note": "x"}, session=setup["mallory"])).status_code == 200
    assert await _role_names(app_a) == ["Admin", "Mine"]
    assert not await _sees_secret(app_a, setup, setup["mallory"])


async def test_a_new_role_needs_a_valid_name_and_an_acl(app_a: ParseApp) -> None:
    cases = [
        ({"name": "Admin"}, ACL_REQUIRED),
        ({"name": "Admin", "ACL": None}, ACL_REQUIRED),
        ({"name": "Admin", "ACL": {"__op": "Delete"}}, ACL_REQUIRED),
        ({"ACL": PUBLIC_READ}, NAME_REQUIRED),
        ({"name": "", "ACL": PUBLIC_READ}, NAME_REQUIRED),
        ({"name": {"__op": "Delete"}, "ACL": PUBLIC_READ}, NOT_STRING),
        ({"name": 7, "ACL": PUBLIC_READ}, NOT_STRING),
        ({"name": "Admin", "name.x": 1, "ACL": PUBLIC_READ}, NOT_STRING),
        ({"name": "role:Admin", "ACL": PUBLIC_READ}, BAD_NAME),
        ({"name": "Admin\n", "ACL": PUBLIC_READ}, BAD_NAME),
        ({"name": "Ädmin", "ACL": PUBLIC_READ}, BAD_NAME),
        ({"name": "A" * 1025, "ACL": PUBLIC_READ}, TOO_LONG),
    ]
    for body, error in cases:
        for path in ("/roles", "/classes/_Role"):
            anonymous = await app_a.request("POST", path, body)
            assert (anonymous.status_code, anonymous.json()) == (400, error), (path, body)
            assert (await app_a.request("POST", path, body, master=True)).json() == error
    assert await _role_names(app_a) == []
    for name in ("Good name-1_x", "L" * 1024):
        ok = await app_a.request("POST", "/classes/_Role", {"name": name, "ACL": {}})
        assert ok.status_code == 201, ok.text


async def test_concurrent_creates_of_one_name_make_one_role(app_a: ParseApp) -> None:
    """The unique index settles the race: exactly one create wins, the others answer 137."""
    users = [await sign_up(app_a, f"racer{i}") for i in range(4)]
    responses = await asyncio.gather(*(
        app_a.request(
            "POST", "/roles",
            {"name": "Admin", "ACL": PUBLIC_READ,
             "users": {"__op": "AddRelation", "objects": [_user(user["objectId"])]}},
            session=user["sessionToken"],
        )
        for user in users
    ))  # fmt: skip
    assert sorted(r.status_code for r in responses) == [201, 400, 400, 400]
    assert all(r.json() == DUPLICATE for r in responses if r.status_code == 400)
    assert await _role_names(app_a) == ["Admin"]


async def test_inheritance_and_delete_do_not_hand_out_a_foreign_role(app_a: ParseApp) -> None:
    setup = await _admin_setup(app_a)
    own_acl = {setup["mallory_id"]: {"read": True, "write": True}}
    sub = await app_a.request(
        "POST", "/roles",
        {"name": "Sub", "ACL": own_acl, "users": {"__op": "AddRelation", "objects": [_user(setup["mallory_id"])]},
         "roles": {"__op": "AddRelation", "objects": [_role(setup["admin_id"])]}},
        session=setup["mallory"],
    )  # fmt: skip
    assert sub.status_code == 201, sub.text
    # Putting her role under Admin, or deleting Admin to recreate it, needs Admin's write ACL.
    join = await app_a.request(
        "PUT", f"/roles/{setup['admin_id']}",
        {"roles": {"__op": "AddRelation", "objects": [_role(sub.json()["objectId"])]}}, session=setup["mallory"],
    )  # fmt: skip
    assert join.status_code == 404
    gone = await app_a.request("DELETE", f"/classes/_Role/{setup['admin_id']}", session=setup["mallory"])
    assert gone.status_code == 404
    assert not await _sees_secret(app_a, setup, setup["mallory"])
    assert await _role_names(app_a) == ["Admin", "Sub"]


async def test_a_new_app_partition_has_the_role_name_index(app_b: ParseApp) -> None:
    """Provisioning attaches the parent's unique index to a new app's partition."""
    rows = await sql(
        "SELECT indexdef FROM pg_indexes WHERE tablename = %s AND indexdef LIKE %s",
        [f"datastore_object_app{app_b.tenant.app.pk}", "%UNIQUE%'name'%_Role%"],
    )
    assert len(rows) == 1
    assert (await app_b.request("POST", "/roles", {"name": "A", "ACL": {}}, master=True)).status_code == 201
    assert (await app_b.request("POST", "/roles", {"name": "A", "ACL": {}}, master=True)).json() == DUPLICATE


def _migration() -> Any:
    return importlib.import_module("hangar.datastore.migrations.0008_roles_role_name_unique")


def _rename_later_duplicates() -> None:
    from django.db import connection

    migration = _migration()

    class Editor:
        pass

    editor = Editor()
    editor.connection = connection  # type: ignore[attr-defined]
    migration.rename_later_duplicates(None, editor)


async def test_existing_duplicates_keep_one_holder_and_the_migration_renames_the_others(app_a: ParseApp) -> None:
    """Data from before the index: only the oldest role of a name grants it; the migration renames the
    later ones to a distinct valid name and keeps them and their members."""
    setup = await _admin_setup(app_a)
    app_pk = app_a.tenant.app.pk
    long_name = "Legacy" + secrets.token_hex(1500)  # sorts after "Admin" in any collation
    await sql("DROP INDEX datastore_object_role_name")
    try:
        await sql(
            "INSERT INTO datastore_object (app_id, class_name, object_id, data, _rperm, _wperm, created_at) "
            "VALUES (%s, '_Role', 'dupRole001', '{\"name\": \"Admin\"}', '{*}', '{}', now() + interval '1 minute')",
            [app_pk],
        )
        await sql(
            "INSERT INTO datastore_relation (app_id, owner_class, owner_id, key, related_class, related_id) "
            "VALUES (%s, '_Role', 'dupRole001', 'users', '_User', %s)",
            [app_pk, setup["mallory_id"]],
        )
        # An oversized legacy name (3000 random bytes) must not make building the index fail.
        await sql(
            "INSERT INTO datastore_object (app_id, class_name, object_id, data, _rperm, _wperm) "
            "VALUES (%s, '_Role', 'longRole01', jsonb_build_object('name', %s::text), '{*}', '{}')",
            [app_pk, long_name],
        )
        await app_a.request("PUT", f"/roles/{setup['admin_id']}", {"note": "bump the role version"}, master=True)
        assert not await _sees_secret(app_a, setup, setup["mallory"])
        assert await _sees_secret(app_a, setup, setup["boss"])
        await sync_to_async(_rename_later_duplicates)()
    finally:
        await sql("DELETE FROM datastore_object WHERE class_name = '_Role' AND object_id = 'dupRole001' "
                  "AND data->>'name' = 'Admin'")  # fmt: skip
        await sql(_migration().INDEX_SQL)
    assert await _role_names(app_a) == ["Admin", "Admin_duplicate_dupRole001", long_name]
    members = await sql("SELECT related_id FROM datastore_relation WHERE owner_id = 'dupRole001'")
    assert members == [(setup["mallory_id"],)]
    assert not await _sees_secret(app_a, setup, setup["mallory"])
