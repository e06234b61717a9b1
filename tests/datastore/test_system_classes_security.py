"""System classes are not open to clients: installations, sessions, system fields, field caps, get-as-find."""

from __future__ import annotations

import importlib
from typing import Any

import httpx
import orjson
import pytest
from asgiref.sync import sync_to_async

from hangar.datastore.models import SchemaClass
from hangar.datastore.system_classes import system_class_permissions
from tests.datastore.conftest import ParseApp, insert_user_with_session

pytestmark = pytest.mark.django_db(transaction=True)

INSTALLATION_FIND = {
    "code": 119,
    "error": "Clients aren't allowed to perform the find operation on the installation collection.",
}


async def _as_device(
    app: ParseApp, method: str, path: str, body: Any = None, *, installation: str | None = None
) -> httpx.Response:
    """A client request (REST key) from a device that sends ``X-Parse-Installation-Id``."""
    headers = app.headers()
    if installation:
        headers["X-Parse-Installation-Id"] = installation
    content = orjson.dumps(body) if body is not None else None
    return await app.client.request(method, f"/parse{path}", content=content, headers=headers)


def _user_pointer(user_id: str) -> dict[str, str]:
    return {"__type": "Pointer", "className": "_User", "objectId": user_id}


async def _master_create(app: ParseApp, class_name: str, body: dict[str, Any]) -> str:
    response = await app.request("POST", f"/classes/{class_name}", body, master=True)
    assert response.status_code == 201, response.text
    return response.json()["objectId"]


async def _installations(app: ParseApp) -> list[dict[str, Any]]:
    return (await app.request("GET", "/classes/_Installation", master=True)).json()["results"]


async def test_clients_cannot_list_count_or_delete_installations(app_a: ParseApp) -> None:
    other = await _master_create(
        app_a, "_Installation", {"installationId": "victim-device", "deviceType": "ios", "deviceToken": "tok-1"}
    )
    _, token = await sync_to_async(insert_user_with_session)(app_a.tenant, "ada")
    for session in (None, token):
        found = await app_a.request("GET", "/classes/_Installation", session=session)
        assert (found.status_code, found.json()) == (400, INSTALLATION_FIND)
    counted = await app_a.request("GET", "/classes/_Installation", params={"count": "1", "limit": "0"})
    assert counted.json() == INSTALLATION_FIND
    deleted = await app_a.request("DELETE", f"/classes/_Installation/{other}", session=token)
    assert deleted.json() == {
        "code": 119,
        "error": "Clients aren't allowed to perform the delete operation on the installation collection.",
    }
    batch = await app_a.request(
        "POST", "/batch", {"requests": [{"method": "DELETE", "path": f"/parse/classes/_Installation/{other}"}]}
    )
    assert batch.json()[0]["error"]["code"] == 119
    await _master_create(app_a, "Device", {"owner": "x"})
    sub = await app_a.request(
        "GET", "/classes/Device",
        params={"where": {"owner": {"$select": {"query": {"className": "_Installation"}, "key": "deviceToken"}}}},
    )  # fmt: skip
    assert sub.json()["code"] == 119
    assert [i["objectId"] for i in await _installations(app_a)] == [other]
    # A get by objectId stays allowed, as in Parse Server.
    assert (await app_a.request("GET", f"/classes/_Installation/{other}")).status_code == 200


async def test_a_client_creates_and_updates_only_its_own_installation(app_a: ParseApp) -> None:
    created = await _as_device(app_a, "POST", "/classes/_Installation", {"deviceType": "ios"}, installation="dev-a")
    assert created.status_code == 201, created.text
    mine = created.json()["objectId"]
    [stored] = await _installations(app_a)
    assert stored["installationId"] == "dev-a"
    other = await _master_create(app_a, "_Installation", {"installationId": "dev-b", "deviceType": "android"})

    ok = await _as_device(app_a, "PUT", f"/classes/_Installation/{mine}", {"badge": 1}, installation="dev-a")
    assert ok.status_code == 200, ok.text
    for installation, body in [
        ("dev-a", {"badge": 7}),  # someone else's installation
        (None, {"badge": 7}),  # no installationId at all
        ("dev-a", {"badge": 7, "installationId": {"__op": "Delete"}}),
    ]:
        denied = await _as_device(app_a, "PUT", f"/classes/_Installation/{other}", body, installation=installation)
        assert denied.json() == {"code": 101, "error": "Object not found."}
    moved = await _as_device(
        app_a, "PUT", f"/classes/_Installation/{mine}", {"installationId": "dev-b"}, installation="dev-a"
    )
    assert moved.json()["code"] == 101
    batch = await _as_device(
        app_a, "POST", "/batch",
        {"requests": [{"method": "PUT", "path": f"/parse/classes/_Installation/{other}", "body": {"badge": 7}}]},
        installation="dev-a",
    )  # fmt: skip
    assert batch.json()[0]["error"]["code"] == 101

    again = await _as_device(
        app_a, "POST", "/classes/_Installation", {"deviceType": "ios", "badge": 5}, installation="dev-a"
    )
    assert again.status_code == 200, again.text  # an update, as Parse Server answers it
    assert again.json()["objectId"] == mine  # one installation per installationId, as Parse Server
    by_id = {i["objectId"]: i for i in await _installations(app_a)}
    assert len(by_id) == 2
    assert by_id[mine]["badge"] == 5
    assert "badge" not in by_id[other]
    assert by_id[other]["installationId"] == "dev-b"

    anonymous = await _as_device(app_a, "POST", "/classes/_Installation", {"deviceType": "ios"})
    assert anonymous.json() == {"code": 135, "error": "installationId must be specified in this operation"}


async def test_session_queries_return_only_the_callers_sessions(app_a: ParseApp) -> None:
    ada, ada_token = await sync_to_async(insert_user_with_session)(app_a.tenant, "ada")
    ben, _ = await sync_to_async(insert_user_with_session)(app_a.tenant, "ben")
    pointer = _user_pointer(ben)
    # A session the developer made with the master key and a public ACL is still only ben's.
    bens = await _master_create(app_a, "_Session", {"user": pointer, "ACL": {"*": {"read": True, "write": True}}})
    for path in ("/classes/_Session", "/sessions"):
        found = await app_a.request("GET", path, session=ada_token)
        assert found.status_code == 200, found.text
        results = found.json()["results"]
        assert results
        assert {s["user"]["objectId"] for s in results} == {ada}
        anonymous = await app_a.request("GET", path)
        assert anonymous.json() == {"code": 209, "error": "Invalid session token"}
    assert (await app_a.request("GET", f"/classes/_Session/{bens}", session=ada_token)).status_code == 404
    assert (await app_a.request("GET", f"/classes/_Session/{bens}")).json()["code"] == 209
    assert (await app_a.request("PUT", f"/classes/_Session/{bens}", {}, session=ada_token)).status_code == 404
    assert (await app_a.request("DELETE", f"/classes/_Session/{bens}", session=ada_token)).status_code == 404
    assert (await app_a.request("GET", f"/classes/_Session/{bens}", master=True)).status_code == 200


async def test_clients_cannot_add_fields_to_system_classes(app_a: ParseApp) -> None:
    ada, token = await sync_to_async(insert_user_with_session)(app_a.tenant, "ada")
    [own_session] = (await app_a.request("GET", "/classes/_Session", session=token)).json()["results"]
    role = {"name": "Staff", "ACL": {"*": {"read": True, "write": True}}}
    attempts = [
        ("_User", "PUT", f"/classes/_User/{ada}", {"nickname": "a"}),
        ("_User", "PUT", f"/users/{ada}", {"nickname": "a"}),
        ("_User", "PUT", f"/users/{ada}", {"score": {"__op": "Increment", "amount": 1}}),
        ("_User", "PUT", f"/users/{ada}", {"tags": {"__op": "AddUnique", "objects": ["x"]}}),
        ("_User", "PUT", f"/users/{ada}", {"meta.deep": 1}),
        ("_User", "PUT", f"/users/{ada}", {"friends": {"__op": "AddRelation", "objects": [_user_pointer(ada)]}}),
        ("_User", "POST", "/users", {"username": "ben", "password": "pw-secret-1", "nickname": "b"}),
        ("_Session", "PUT", f"/classes/_Session/{own_session['objectId']}", {"note": "x"}),
        ("_Role", "POST", "/classes/_Role", {**role, "color": "red"}),
        ("_Installation", "POST", "/classes/_Installation", {"installationId": "d-1", "deviceType": "ios", "x": 1}),
    ]
    for class_name, method, path, body in attempts:
        response = await app_a.request(method, path, body, session=token)
        assert response.json() == {
            "code": 119,
            "error": f"Permission denied for action addField on class {class_name}.",
        }, path
    schemas = await app_a.request("PUT", "/schemas/_User", {"fields": {"nickname": {"type": "String"}}}, session=token)
    assert schemas.status_code == 403
    fields = (await app_a.request("GET", "/schemas/_User", master=True)).json()["fields"]
    assert "nickname" not in fields
    assert (await app_a.request("GET", "/classes/_Installation", master=True)).json()["results"] == []
    # The developer adds them: with the master key, by a write or through /schemas.
    assert (await app_a.request("PUT", f"/classes/_User/{ada}", {"nickname": "a"}, master=True)).status_code == 200
    assert (await app_a.request("PUT", f"/users/{ada}", {"nickname": "b"}, session=token)).status_code == 200


async def test_fields_are_capped_per_write_and_per_class(app_a: ParseApp, settings: Any) -> None:
    settings.HANGAR_MAX_NEW_FIELDS_PER_WRITE = 5
    settings.HANGAR_MAX_FIELDS_PER_CLASS = 12
    assert (await app_a.request("POST", "/schemas/Wide", {}, master=True)).status_code == 200
    six = {f"f{i}": i for i in range(6)}
    too_many = await app_a.request("POST", "/classes/Wide", six)
    assert too_many.json() == {
        "code": 255,
        "error": "One write may add at most 5 new fields to Wide; this one adds 6. Declare more fields with /schemas.",
    }
    assert (await app_a.request("POST", "/classes/Wide", six, master=True)).json()["code"] == 255
    first = await app_a.request("POST", "/classes/Wide", {f"a{i}": i for i in range(5)})
    assert first.status_code == 201, first.text  # 4 system fields + 5 = 9
    over = await app_a.request("POST", "/classes/Wide", {f"b{i}": i for i in range(4)})
    assert over.json() == {"code": 255, "error": "Class Wide may have at most 12 fields; this change would give it 13."}
    within = await app_a.request("POST", "/classes/Wide", {"a0": 1, "b0": 1, "b1": 2, "b2": 3})
    assert within.status_code == 201, within.text
    full = await app_a.request("PUT", "/schemas/Wide", {"fields": {"c0": {"type": "String"}}}, master=True)
    assert full.json()["code"] == 255
    wide = await app_a.request(
        "POST", "/schemas/Wider", {"fields": {f"c{i}": {"type": "Number"} for i in range(9)}}, master=True
    )
    assert wide.json()["code"] == 255
    objects = (await app_a.request("GET", "/classes/Wide", master=True)).json()["results"]
    assert len(objects) == 2
    fields = (await app_a.request("GET", "/schemas/Wide", master=True)).json()["fields"]
    assert len(fields) == 12
    # A class over the cap (e.g. after the setting was lowered) may still shed fields and take writes.
    settings.HANGAR_MAX_FIELDS_PER_CLASS = 8
    assert (await app_a.request("POST", "/classes/Wide", {"a1": 5})).status_code == 201
    dropped = await app_a.request("PUT", "/schemas/Wide", {"fields": {"b2": {"__op": "Delete"}}}, master=True)
    assert dropped.status_code == 200, dropped.text


async def test_a_find_of_one_object_id_is_a_get_for_class_level_permissions(app_a: ParseApp) -> None:
    clp = {"get": {"*": True}}
    assert (
        await app_a.request("POST", "/schemas/Ticket", {"classLevelPermissions": clp}, master=True)
    ).status_code == 200
    ticket = await _master_create(app_a, "Ticket", {"seat": "A1"})
    got = await app_a.request("GET", "/classes/Ticket", params={"where": {"objectId": ticket}, "limit": "1"})
    assert got.status_code == 200, got.text
    assert [t["seat"] for t in got.json()["results"]] == ["A1"]
    for where in ({}, {"objectId": {"$in": [ticket]}}, {"objectId": ticket, "seat": "A1"}, {"seat": "A1"}):
        denied = await app_a.request("GET", "/classes/Ticket", params={"where": where})
        assert denied.json() == {"code": 119, "error": "Permission denied for action find on class Ticket."}, where
    counted = await app_a.request("GET", "/classes/Ticket", params={"where": {"objectId": ticket}, "count": "1"})
    assert counted.json()["code"] == 119


async def test_new_apps_get_the_system_class_defaults(app_a: ParseApp) -> None:
    installation = (await app_a.request("GET", "/schemas/_Installation", master=True)).json()
    clp = installation["classLevelPermissions"]
    assert (clp["find"], clp["count"], clp["delete"], clp["addField"]) == ({}, {}, {}, {})
    assert clp["get"] == clp["create"] == clp["update"] == {"*": True}
    user = (await app_a.request("GET", "/schemas/_User", master=True)).json()["classLevelPermissions"]
    assert user["addField"] == {}
    assert user["find"] == {"*": True}


def test_existing_apps_system_classes_get_the_new_defaults_unless_customised(tenant_a: Any) -> None:
    migration = importlib.import_module("hangar.datastore.migrations.0010_sysclasses_system_class_defaults")
    for class_name in ("_User", "_Role", "_Session", "_Installation"):
        assert migration.new_default(class_name) == system_class_permissions(class_name)
    rows = SchemaClass.objects.filter(app=tenant_a.app)
    rows.filter(class_name__in=["_Installation", "_Session"]).update(class_level_permissions=migration.OLD_DEFAULT)
    customised = {**migration.OLD_DEFAULT, "find": {"role:Admin": True}}
    rows.filter(class_name="_User").update(class_level_permissions=customised)

    assert migration.upgrade_system_class_permissions(SchemaClass) == 2
    clps = dict(rows.values_list("class_name", "class_level_permissions"))
    assert clps["_Installation"] == system_class_permissions("_Installation")
    assert clps["_Session"] == system_class_permissions("_Session")
    assert clps["_User"] == customised
    assert clps["_Role"] == system_class_permissions("_Role")
