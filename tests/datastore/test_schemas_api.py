"""``/schemas`` through the Parse REST API: classes, fields, class-level permissions and indexes."""

from __future__ import annotations

import secrets

import pytest
from asgiref.sync import sync_to_async
from django.db import connection

from hangar.datastore.connection import app_transaction
from hangar.datastore.indexes import index_sql_name
from hangar.datastore.partitions import object_partition, partition_name
from hangar.datastore.query import QueryContext, compile_query
from hangar.datastore.schema_registry import app_schemas, app_schemas_forget
from tests.datastore.conftest import ParseApp, insert_user_with_session

pytestmark = pytest.mark.django_db(transaction=True)

MASTER_REQUIRED = {"error": "unauthorized: master key is required"}
USER_POINTER = {"type": "Pointer", "targetClass": "_User"}


async def _ok(app: ParseApp, method: str, path: str, body: dict | None = None) -> dict:
    response = await app.request(method, path, body, master=True)
    assert response.status_code == 200, response.text
    return response.json()


async def _error(app: ParseApp, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    response = await app.request(method, path, body, master=True)
    return response.status_code, response.json()


async def _create_object(app: ParseApp, class_name: str, body: dict) -> str:
    response = await app.request("POST", f"/classes/{class_name}", body, master=True)
    assert response.status_code == 201, response.text
    return response.json()["objectId"]


def _query(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


async def _db(sql: str, *params: object) -> list[tuple]:
    return await sync_to_async(_query)(sql, list(params))


async def _partition_indexes(app: ParseApp) -> dict[str, str]:
    rows = await _db(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s",
        partition_name("datastore_object", app.tenant.app.pk),
    )
    return dict(rows)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/schemas"),
        ("GET", "/schemas/Game"),
        ("POST", "/schemas"),
        ("POST", "/schemas/Game"),
        ("PUT", "/schemas/Game"),
        ("DELETE", "/schemas/Game"),
    ],
)
async def test_schemas_need_the_master_key(app_a: ParseApp, method: str, path: str):
    response = await app_a.request(method, path, {"className": "Game"})
    assert (response.status_code, response.json()) == (403, MASTER_REQUIRED)


async def test_list_shows_the_system_classes(app_a: ParseApp):
    listed = await _ok(app_a, "GET", "/schemas/")  # trailing slash tolerated
    by_name = {schema["className"]: schema for schema in listed["results"]}
    assert {"_User", "_Role", "_Session", "_Installation"} <= set(by_name)
    assert by_name["_Role"]["fields"]["users"] == {"type": "Relation", "targetClass": "_User"}
    assert by_name["_User"]["classLevelPermissions"]["find"] == {"*": True}
    assert "indexes" not in by_name["_User"]


async def test_create_class_with_fields_permissions_and_indexes(app_a: ParseApp):
    body = {
        "fields": {
            "name": {"type": "String"},
            "score": {"type": "Number", "required": True, "defaultValue": 5},
            "owner": USER_POINTER,
            "fans": {"type": "Relation", "targetClass": "_User"},
            "when": {"type": "Date", "defaultValue": {"__type": "Date", "iso": "2024-05-01T10:00:00+02:00"}},
            "tags": {"type": "Array"},
            "where": {"type": "GeoPoint"},
        },
        "classLevelPermissions": {"find": {"*": True}, "get": {"requiresAuthentication": True}},
        "indexes": {"by_name": {"name": 1}},
    }
    created = await _ok(app_a, "POST", "/schemas/Game", body)
    assert created["className"] == "Game"
    assert created["fields"]["objectId"] == {"type": "String"}
    assert created["fields"]["ACL"] == {"type": "ACL"}
    assert created["fields"]["score"] == {"type": "Number", "required": True, "defaultValue": 5}
    assert created["fields"]["when"]["defaultValue"] == {"__type": "Date", "iso": "2024-05-01T08:00:00.000Z"}
    # A CLP given at creation replaces the default: operations it does not list are master only.
    assert created["classLevelPermissions"]["find"] == {"*": True}
    assert created["classLevelPermissions"]["create"] == {}
    assert created["indexes"] == {"_id_": {"_id": 1}, "by_name": {"name": 1}}
    assert await _ok(app_a, "GET", "/schemas/Game") == created


async def test_new_classes_get_the_public_default_permissions(app_a: ParseApp):
    created = await _ok(app_a, "POST", "/schemas", {"className": "Open", "fields": {"a": {"type": "String"}}})
    assert created["classLevelPermissions"] == {
        "find": {"*": True}, "count": {"*": True}, "get": {"*": True}, "create": {"*": True},
        "update": {"*": True}, "delete": {"*": True}, "addField": {"*": True}, "protectedFields": {"*": []},
    }  # fmt: skip
    assert "indexes" not in created
    assert (await app_a.request("POST", "/classes/Open", {"a": "x"})).status_code == 201


async def test_create_errors(app_a: ParseApp):
    await _ok(app_a, "POST", "/schemas/Game", {})
    assert await _error(app_a, "POST", "/schemas/Game", {}) == (
        400,
        {"code": 103, "error": "Class Game already exists."},
    )
    assert await _error(app_a, "POST", "/schemas", {}) == (
        400, {"code": 135, "error": "POST /schemas needs a class name."},
    )  # fmt: skip
    assert await _error(app_a, "POST", "/schemas/Alpha", {"className": "Beta"}) == (
        400, {"code": 103, "error": "Class name mismatch between Beta and Alpha."},
    )  # fmt: skip
    invalid = await _error(app_a, "POST", "/schemas", {"className": "_Secret"})
    assert invalid[1]["code"] == 103
    assert invalid[1]["error"].startswith("Invalid classname: _Secret")


@pytest.mark.parametrize(
    ("fields", "code", "message"),
    [
        ({"a": {"type": "Money"}}, 111, "invalid field type: Money"),
        ({"a": {"type": "Pointer"}}, 135, "type Pointer needs a class name"),
        ({"a": {"type": "Relation"}}, 135, "type Relation needs a class name"),
        (
            {"a": {"type": "Number", "defaultValue": "x"}},
            111,
            "schema mismatch for Game.a default value; expected Number but got String",
        ),
        (
            {"a": {"type": "Relation", "targetClass": "_User", "required": True}},
            111,
            "The 'required' option is not applicable for Relation<_User>",
        ),
        (
            {"a": {"type": "GeoPoint"}, "b": {"type": "GeoPoint"}},
            111,
            "there can only be one geopoint field in a class",
        ),
        ({"1a": {"type": "String"}}, 105, "invalid field name: 1a"),
        ({"objectId": {"type": "String"}}, 136, "field objectId cannot be added"),
        ({"a": "String"}, 107, "invalid JSON"),
    ],
)
async def test_field_validation(app_a: ParseApp, fields: dict, code: int, message: str):
    assert await _error(app_a, "POST", "/schemas/Game", {"fields": fields}) == (400, {"code": code, "error": message})
    assert (await _error(app_a, "GET", "/schemas/Game"))[1]["code"] == 103  # nothing was created


async def test_get_and_update_of_a_missing_class(app_a: ParseApp):
    missing = {"code": 103, "error": "Class Nope does not exist."}
    assert await _error(app_a, "GET", "/schemas/Nope") == (400, missing)
    assert await _error(app_a, "PUT", "/schemas/Nope", {"fields": {"a": {"type": "String"}}}) == (400, missing)


async def test_update_adds_and_changes_fields(app_a: ParseApp):
    await _ok(app_a, "POST", "/schemas/Game", {"fields": {"score": {"type": "Number"}}})
    updated = await _ok(
        app_a, "PUT", "/schemas/Game",
        {"fields": {"title": {"type": "String"}, "score": {"type": "Number", "required": True}}},
    )  # fmt: skip
    assert updated["fields"]["title"] == {"type": "String"}
    assert updated["fields"]["score"] == {"type": "Number", "required": True}
    errors = [
        ({"fields": {"score": {"type": "String"}}}, 255, "Field score exists, cannot update."),
        ({"fields": {"nope": {"__op": "Delete"}}}, 255, "Field nope does not exist, cannot delete."),
        ({"fields": {"createdAt": {"__op": "Delete"}}}, 136, "field createdAt cannot be changed"),
        ({"className": "Other"}, 103, "Class name mismatch between Other and Game."),
    ]
    for body, code, message in errors:
        assert await _error(app_a, "PUT", "/schemas/Game", body) == (400, {"code": code, "error": message})


async def test_required_and_default_set_through_schemas_apply_to_new_objects(app_a: ParseApp):
    await _create_object(app_a, "Level", {"name": "first"})
    await _ok(
        app_a, "PUT", "/schemas/Level",
        {"fields": {"stars": {"type": "Number", "defaultValue": 3}, "name": {"type": "String", "required": True}}},
    )  # fmt: skip
    missing = await app_a.request("POST", "/classes/Level", {"other": 1})
    assert missing.json() == {"code": 142, "error": "name is required"}
    created = await app_a.request("POST", "/classes/Level", {"name": "second"})
    assert created.status_code == 201
    assert created.json()["stars"] == 3
    fetched = (await app_a.request("GET", f"/classes/Level/{created.json()['objectId']}")).json()
    assert fetched["stars"] == 3


async def test_deleting_a_field_removes_its_data_everywhere(app_a: ParseApp):
    user_id, _ = await sync_to_async(insert_user_with_session)(app_a.tenant, "fan")
    fan = {"__type": "Pointer", "className": "_User", "objectId": user_id}
    first = await _create_object(
        app_a, "Post", {"title": "a", "draft": "x", "likes": {"__op": "AddRelation", "objects": [fan]}}
    )
    second = await _create_object(app_a, "Post", {"title": "b", "draft": "y"})
    assert await _db("SELECT count(*) FROM datastore_relation WHERE app_id = %s", app_a.tenant.app.pk) == [(1,)]
    updated = await _ok(
        app_a, "PUT", "/schemas/Post", {"fields": {"draft": {"__op": "Delete"}, "likes": {"__op": "Delete"}}}
    )
    assert "draft" not in updated["fields"]
    assert "likes" not in updated["fields"]
    for object_id, title in ((first, "a"), (second, "b")):
        got = (await app_a.request("GET", f"/classes/Post/{object_id}")).json()
        assert got["title"] == title
        assert "draft" not in got
        assert "likes" not in got
    stored = await _db(
        "SELECT data FROM datastore_object WHERE app_id = %s AND class_name = 'Post'", app_a.tenant.app.pk
    )
    assert all("draft" not in data for (data,) in stored)
    assert await _db("SELECT count(*) FROM datastore_relation WHERE app_id = %s", app_a.tenant.app.pk) == [(0,)]
    # The field can come back with another type.
    assert (await app_a.request("POST", "/classes/Post", {"draft": 7})).status_code == 201


async def test_permissions_set_through_schemas_are_enforced(app_a: ParseApp):
    object_id = await _create_object(app_a, "Vault", {"v": 1})
    updated = await _ok(
        app_a, "PUT", "/schemas/Vault", {"classLevelPermissions": {"get": {"*": True}, "create": {"*": True}}}
    )
    assert updated["classLevelPermissions"]["find"] == {}
    denied = await app_a.request("GET", "/classes/Vault")
    assert denied.json() == {"code": 119, "error": "Permission denied for action find on class Vault."}
    assert (await app_a.request("GET", f"/classes/Vault/{object_id}")).status_code == 200
    assert (await app_a.request("GET", "/classes/Vault", master=True)).json()["results"][0]["v"] == 1
    refused = await app_a.request("PUT", f"/classes/Vault/{object_id}", {"v": 2})
    assert refused.json() == {"code": 119, "error": "Permission denied for action update on class Vault."}


async def test_pointer_permissions_set_through_schemas(app_a: ParseApp):
    owner, owner_token = await sync_to_async(insert_user_with_session)(app_a.tenant, "olga")
    _, other_token = await sync_to_async(insert_user_with_session)(app_a.tenant, "oscar")
    await _ok(app_a, "POST", "/schemas/Diary", {"fields": {"owner": USER_POINTER}})
    object_id = await _create_object(
        app_a, "Diary", {"owner": {"__type": "Pointer", "className": "_User", "objectId": owner}}
    )
    await _ok(app_a, "PUT", "/schemas/Diary", {"classLevelPermissions": {"get": {"pointerFields": ["owner"]}}})
    assert (await app_a.request("GET", f"/classes/Diary/{object_id}", session=owner_token)).status_code == 200
    assert (await app_a.request("GET", f"/classes/Diary/{object_id}", session=other_token)).status_code == 404


@pytest.mark.parametrize(
    ("clp", "message"),
    [
        ({"search": {"*": True}}, "search is not a valid operation for class level permissions"),
        ({"find": {"*": False}}, "'false' is not a valid value for class level permissions find:*:false"),
        ({"find": {"some one": True}}, "'some one' is not a valid key for class level permissions"),
        ({"find": True}, "'true' is not a valid value for class level permissions find - must be an object"),
        (
            {"update": {"pointerFields": ["title"]}},
            "'title' is not a valid column for class level pointer permissions update",
        ),
        (
            {"update": {"pointerFields": "owner"}},
            "'owner' is not a valid value for update[pointerFields] - expected an array.",
        ),
        (
            {"readUserFields": "owner"},
            "'owner' is not a valid value for class level permissions readUserFields - must be an array",
        ),
        ({"protectedFields": {"*": ["createdAt"]}}, "Default field 'createdAt' can not be protected"),
        ({"protectedFields": {"*": ["secret"]}}, "Field 'secret' in protectedFields:* does not exist"),
        (
            {"protectedFields": {"friends": "title"}},
            "'title' is not a valid value for protectedFields[friends] - expected an array.",
        ),
        (
            {"protectedFields": {"role:": ["title"], "ab-c": []}},
            "'ab-c' is not a valid key for class level permissions",
        ),
    ],
)
async def test_permission_validation(app_a: ParseApp, clp: dict, message: str):
    await _ok(app_a, "POST", "/schemas/Book", {"fields": {"title": {"type": "String"}, "owner": USER_POINTER}})
    response = await _error(app_a, "PUT", "/schemas/Book", {"classLevelPermissions": clp})
    assert response == (400, {"code": 107, "error": message})


async def test_valid_permissions_are_stored_as_given(app_a: ParseApp):
    await _ok(app_a, "POST", "/schemas/Book", {"fields": {"title": {"type": "String"}, "owner": USER_POINTER}})
    clp = {
        "find": {"requiresAuthentication": True, "role:Staff": True, "abcDEF1234": True},
        "update": {"pointerFields": ["owner"]},
        "readUserFields": ["owner"],
        "protectedFields": {"*": ["title"], "userField:owner": [], "authenticated": []},
    }
    stored = (await _ok(app_a, "PUT", "/schemas/Book", {"classLevelPermissions": clp}))["classLevelPermissions"]
    assert stored == {"count": {}, "get": {}, "create": {}, "delete": {}, "addField": {}, **clp}


async def test_indexes_are_built_on_the_partition_and_dropped(app_a: ParseApp):
    await _create_object(
        app_a, "Score", {"points": 10, "player": "ann", "at": {"__type": "Date", "iso": "2024-01-01T00:00:00.000Z"}}
    )
    updated = await _ok(
        app_a, "PUT", "/schemas/Score", {"indexes": {"top": {"points": -1}, "by_player": {"player": 1, "at": -1}}}
    )
    assert updated["indexes"] == {"_id_": {"_id": 1}, "top": {"points": -1}, "by_player": {"player": 1, "at": -1}}
    pk = app_a.tenant.app.pk
    on_partition = await _partition_indexes(app_a)
    top = on_partition[index_sql_name(pk, "Score", "top")]
    assert "((data ->> 'points'::text))::numeric) DESC NULLS LAST" in top
    assert "WHERE (class_name = 'Score'::text)" in top
    assert 'COLLATE "C"' in on_partition[index_sql_name(pk, "Score", "by_player")]
    assert (
        await _db("SELECT indisvalid FROM pg_index WHERE indexrelid = %s::regclass", index_sql_name(pk, "Score", "top"))
    ) == [(True,)]

    dropped = await _ok(app_a, "PUT", "/schemas/Score", {"indexes": {"top": {"__op": "Delete"}}})
    assert dropped["indexes"] == {"_id_": {"_id": 1}, "by_player": {"player": 1, "at": -1}}
    assert index_sql_name(pk, "Score", "top") not in await _partition_indexes(app_a)
    # Dropping a field drops the indexes on it.
    dropped = await _ok(app_a, "PUT", "/schemas/Score", {"fields": {"at": {"__op": "Delete"}}})
    assert "indexes" not in dropped
    assert index_sql_name(pk, "Score", "by_player") not in await _partition_indexes(app_a)


@pytest.mark.parametrize(
    ("indexes", "message"),
    [
        ({"top": {"points": 1}}, "Index top exists, cannot update."),
        ({"gone": {"__op": "Delete"}}, "Index gone does not exist, cannot delete."),
        ({"other": {"missing": 1}}, "Field missing does not exist, cannot add index."),
        ({"other": {"points": 2}}, 'Invalid index direction for points in index other: use 1, -1 or "text".'),
        ({"other": {"spot": 1}}, "Index other: field spot of type GeoPoint cannot be indexed."),
        ({"bad name!": {"points": 1}}, "Invalid index name: bad name!. Use letters, digits, _ and -."),
        ({"_id_": {"__op": "Delete"}}, "Index _id_ is the primary key and cannot be deleted."),
    ],
)
async def test_index_errors(app_a: ParseApp, indexes: dict, message: str):
    await _create_object(app_a, "Score", {"points": 1, "spot": {"__type": "GeoPoint", "latitude": 1, "longitude": 2}})
    await _ok(app_a, "PUT", "/schemas/Score", {"indexes": {"top": {"points": 1}}})
    assert await _error(app_a, "PUT", "/schemas/Score", {"indexes": indexes}) == (400, {"code": 102, "error": message})


async def test_an_index_that_cannot_be_built_is_taken_out_again(app_a: ParseApp):
    # A btree entry holds at most ~2.7 kB: a big incompressible Object value makes the build fail.
    await _create_object(app_a, "Blob", {"meta": {"noise": secrets.token_urlsafe(8000)}})
    status, body = await _error(app_a, "PUT", "/schemas/Blob", {"indexes": {"big": {"meta": 1}}})
    assert (status, body) == (400, {"code": 102, "error": "The schema was saved, but index big could not be built."})
    assert "indexes" not in await _ok(app_a, "GET", "/schemas/Blob")
    assert index_sql_name(app_a.tenant.app.pk, "Blob", "big") not in await _partition_indexes(app_a)


async def test_schema_changes_in_a_transactional_batch(app_a: ParseApp):
    await _create_object(app_a, "Score", {"points": 1})
    index = index_sql_name(app_a.tenant.app.pk, "Score", "top")

    def batch(second_points: object) -> dict:
        return {
            "transaction": True,
            "requests": [
                {"method": "PUT", "path": "/parse/schemas/Score", "body": {"indexes": {"top": {"points": 1}}}},
                {"method": "POST", "path": "/parse/classes/Score", "body": {"points": second_points}},
            ],
        }

    failed = await app_a.request("POST", "/batch", batch("many"), master=True)
    assert failed.json()["code"] == 111
    assert "indexes" not in await _ok(app_a, "GET", "/schemas/Score")
    assert index not in await _partition_indexes(app_a)
    # Index DDL cannot run inside the batch's transaction: it runs once the batch has committed.
    done = await app_a.request("POST", "/batch", batch(2), master=True)
    assert done.status_code == 200, done.text
    assert (await _ok(app_a, "GET", "/schemas/Score"))["indexes"]["top"] == {"points": 1}
    assert index in await _partition_indexes(app_a)


async def _load_scores(app: ParseApp, count: int) -> None:
    def load() -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO datastore_object (app_id, class_name, object_id, data) SELECT %s, 'Score', 's' || n,"
                " jsonb_build_object('points', n) FROM generate_series(1, %s) AS n",
                [app.tenant.app.pk, count],
            )
            cursor.execute(f"ANALYZE {partition_name('datastore_object', app.tenant.app.pk)}")

    await sync_to_async(load)()


async def _compiled_plan(app: ParseApp, where: dict, order: str | None, *, as_data_plane: bool) -> str:
    """EXPLAIN of the statement queries.object_find runs (on the app's partition), as the data plane or as the owner."""
    pk = app.tenant.app.pk
    app_schemas_forget(pk)
    schemas = await app_schemas(pk, None)
    compiled = compile_query(
        class_name="Score", where=where, order=order, context=QueryContext(pk, schemas.as_mapping(), None)
    )
    statement = (
        f"EXPLAIN SELECT object_id, data FROM {object_partition(pk)} WHERE app_id = %s AND class_name = %s "
        f"AND ({compiled.where_sql})" + (f" ORDER BY {compiled.order_sql}" if compiled.order_sql else "") + " LIMIT 10"
    )
    params = [pk, "Score", *compiled.params, *compiled.order_params]
    if not as_data_plane:
        return "\n".join(row[0] for row in await _db(statement, *params))
    async with app_transaction(pk) as conn:
        await conn.execute("SET LOCAL enable_seqscan = off")
        cursor = await conn.execute(statement, params)
        return "\n".join(row[0] for row in await cursor.fetchall())


async def test_declared_index_serves_compiled_queries(app_a: ParseApp):
    await _load_scores(app_a, 3000)
    await _ok(
        app_a, "POST", "/schemas/Score", {"fields": {"points": {"type": "Number"}}, "indexes": {"top": {"points": -1}}}
    )
    index = index_sql_name(app_a.tenant.app.pk, "Score", "top")
    # The data plane's own statement for order=-points uses the index.
    assert f"Index Scan using {index}" in await _compiled_plan(app_a, {}, "-points", as_data_plane=True)


async def test_declared_index_serves_compiled_conditions_on_the_data_plane(app_a: ParseApp):
    """Reads name the app's partition (not the RLS-guarded parent), so expression indexes serve conditions."""
    await _load_scores(app_a, 3000)
    await _ok(
        app_a, "POST", "/schemas/Score", {"fields": {"points": {"type": "Number"}}, "indexes": {"top": {"points": -1}}}
    )
    plan = await _compiled_plan(app_a, {"points": {"$gt": 2990}}, None, as_data_plane=True)
    assert "Index Cond: (((data ->> 'points'::text))::numeric > " in plan


async def test_delete_class(app_a: ParseApp):
    await _create_object(app_a, "Temp", {"n": 1})
    await _create_object(app_a, "Temp", {"n": 2})
    await _ok(app_a, "PUT", "/schemas/Temp", {"indexes": {"by_n": {"n": 1}}})
    assert await _error(app_a, "DELETE", "/schemas/Temp") == (
        400, {"code": 255, "error": "Class Temp is not empty, contains 2 objects, cannot drop schema."},
    )  # fmt: skip
    assert await _ok(app_a, "DELETE", "/purge/Temp") == {}
    assert await _ok(app_a, "DELETE", "/schemas/Temp") == {}
    assert (await _error(app_a, "GET", "/schemas/Temp"))[1]["code"] == 103
    assert index_sql_name(app_a.tenant.app.pk, "Temp", "by_n") not in await _partition_indexes(app_a)
    assert "Temp" not in {schema["className"] for schema in (await _ok(app_a, "GET", "/schemas"))["results"]}
    assert await _ok(app_a, "DELETE", "/schemas/Temp") == {}  # a missing class drops fine, as in Parse Server
    assert await _error(app_a, "DELETE", "/schemas/_User") == (
        400, {"code": 255, "error": "Class _User is a system class, cannot drop schema."},
    )  # fmt: skip


async def test_server_info_advertises_schemas_and_config(app_a: ParseApp):
    features = (await _ok(app_a, "GET", "/serverInfo"))["features"]
    assert features["schemas"]["addClass"]
    assert features["schemas"]["clearAllDataFromClass"]
    assert features["globalConfig"] == {"create": True, "read": True, "update": True, "delete": True}


async def test_other_apps_never_see_or_change_a_class(app_a: ParseApp, app_b: ParseApp):
    await _ok(app_a, "POST", "/schemas/Secret", {"fields": {"code": {"type": "String"}}})
    await _create_object(app_a, "Secret", {"code": "a"})
    missing = {"code": 103, "error": "Class Secret does not exist."}
    assert await _error(app_b, "GET", "/schemas/Secret") == (400, missing)
    assert await _error(app_b, "PUT", "/schemas/Secret", {"fields": {"code": {"__op": "Delete"}}}) == (400, missing)
    assert "Secret" not in {schema["className"] for schema in (await _ok(app_b, "GET", "/schemas"))["results"]}
    assert await _ok(app_b, "DELETE", "/schemas/Secret") == {}
    # B's class of the same name is its own.
    await _ok(
        app_b, "POST", "/schemas/Secret", {"fields": {"other": {"type": "Number"}}, "indexes": {"i": {"other": 1}}}
    )
    await _ok(app_b, "PUT", "/schemas/Secret", {"fields": {"code": {"type": "Number"}}})
    a_schema = await _ok(app_a, "GET", "/schemas/Secret")
    assert a_schema["fields"]["code"] == {"type": "String"}
    assert "other" not in a_schema["fields"]
    assert "indexes" not in a_schema
    assert not await _partition_indexes_of_class(app_a, "Secret")
    assert (await app_a.request("GET", "/classes/Secret", master=True)).json()["results"][0]["code"] == "a"
    # A master key only works with its own app id.
    crossed = await app_b.client.get(
        "/parse/schemas",
        headers={
            "X-Parse-Application-Id": app_a.tenant.application_id,
            "X-Parse-Master-Key": app_b.tenant.keys["master"],
        },
    )
    assert (crossed.status_code, crossed.json()) == (403, {"error": "unauthorized"})


async def _partition_indexes_of_class(app: ParseApp, class_name: str) -> list[str]:
    return [name for name, definition in (await _partition_indexes(app)).items() if f"'{class_name}'" in definition]


async def test_declared_string_index_serves_equality_and_in(app_a: ParseApp):
    def load() -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO datastore_object (app_id, class_name, object_id, data) SELECT %s, 'Score', 's' || n,"
                " jsonb_build_object('player', 'p' || n) FROM generate_series(1, 3000) AS n",
                [app_a.tenant.app.pk],
            )
            cursor.execute(f"ANALYZE {partition_name('datastore_object', app_a.tenant.app.pk)}")

    await sync_to_async(load)()
    await _ok(
        app_a,
        "POST",
        "/schemas/Score",
        {"fields": {"player": {"type": "String"}}, "indexes": {"by_player": {"player": 1}}},
    )
    index = index_sql_name(app_a.tenant.app.pk, "Score", "by_player")
    for where in ({"player": "p42"}, {"player": {"$in": ["p1", "p2"]}}):
        plan = await _compiled_plan(app_a, where, None, as_data_plane=True)
        assert index in plan, plan
