"""Every statement the data plane sends names its one app (docs/scaling.md, "Citus").

On Citus, with the data tables distributed by ``app_id``, a statement whose every table
reference is filtered on one ``app_id`` goes to one worker (router execution); one without
would fan out to every shard, or be refused. Here a broad Parse workload runs through the
ASGI app while every statement of the data plane's connections is recorded; each statement
that reads or writes a data table must carry ``app_id = <that app>`` for each reference
(a filter, or the inserted ``app_id``), and no statement may carry another app's id.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from psycopg import AsyncCursor

from hangar.db_pool import DataPlaneConnection
from tests.datastore.conftest import ParseApp, app_a, app_b  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

Params = Sequence[Any] | Mapping[str, Any]
Recorded = list[tuple[str, Params]]


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> Recorded:
    """Record (sql, params) of every statement run on a data-plane connection."""
    recorded: Recorded = []
    original = AsyncCursor.execute

    async def recording_execute(self: AsyncCursor[Any], query: Any, params: Any = None, **kwargs: Any) -> Any:
        if isinstance(self.connection, DataPlaneConnection):
            text = query if isinstance(query, str) else query.as_string(self.connection)
            recorded.append((text, params if params is not None else ()))
        return await original(self, query, params, **kwargs)

    monkeypatch.setattr(AsyncCursor, "execute", recording_execute)
    return recorded


SESSION_STATEMENTS = re.compile(
    r"^(SET ROLE \w+|SET statement_timeout = \d+|SET TIME ZONE 'UTC'"
    r"|SELECT set_config\('statement_timeout', '0', true\))$"
)
BIND_STATEMENT = "SELECT set_config('hangar.app_id', %s, true)"
TABLE_REFERENCE = re.compile(r"\b(FROM|JOIN|UPDATE|INTO|USING)\s+(\w+)", re.IGNORECASE)
APP_FILTER = re.compile(r"\b(?:\w+\.)?app_id\s*=\s*%(?:s|\((\w+)\)s)")
PLACEHOLDER = re.compile(r"%s")
# The admission lookup (app, keys, plan, cloud-code activation) reads control-plane tables by the
# application id the client sent, before there is an app_id: on Citus they stay coordinator-local.
CONTROL_PLANE = ("tenants_", "cloudcode_")


def tables_with_app_id() -> set[str]:
    """Every data table (partitions included) that holds tenant rows: those with an ``app_id`` column."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT table_name FROM information_schema.columns WHERE column_name = 'app_id' "
            "AND table_schema = current_schema()"
        )
        return {row[0] for row in cursor.fetchall() if not row[0].startswith(CONTROL_PLANE)}


def placeholder_index(sql: str, position: int) -> int:
    return len(PLACEHOLDER.findall(sql[:position]))


def _bound_value(sql: str, params: Params, match: re.Match[str]) -> Any:
    if match.group(1) is not None:
        assert isinstance(params, Mapping)
        return params[match.group(1)]
    assert not isinstance(params, Mapping)
    return params[placeholder_index(sql, match.end() - 2)]


def unfiltered(sql: str, params: Params, app_pk: int, tenant_tables: set[str]) -> str | None:
    """Why ``sql`` is not routed to the app ``app_pk`` alone, or None if it is."""
    if SESSION_STATEMENTS.match(sql.strip()):
        return None
    if sql.strip() == BIND_STATEMENT:
        return None if list(params) == [str(app_pk)] else f"binds app {params}"
    filters = list(APP_FILTER.finditer(sql))
    for match in filters:
        value = _bound_value(sql, params, match)
        if value != app_pk:
            return f"filters on app {value!r}"
    references = [m for m in TABLE_REFERENCE.finditer(sql) if m.group(2) in tenant_tables]
    inserts = [m for m in references if m.group(1).upper() == "INTO"]
    for insert in inserts:
        columns = sql[insert.end() :].lstrip()
        if not columns.startswith("(") or "app_id" not in columns[: columns.index(")")]:
            return f"inserts into {insert.group(2)} without an app_id"
        if app_pk not in (params.values() if isinstance(params, Mapping) else params):
            return f"inserts into {insert.group(2)} for another app"
    if len(references) - len(inserts) > len(filters):
        return f"{len(references) - len(inserts)} table references, {len(filters)} app filters"
    return None


async def parse_workload(app: ParseApp) -> None:
    """What apps do: writes of every kind, queries with every family of operator, users, roles, batches."""

    async def ok(method: str, path: str, body: Any = None, **options: Any) -> Any:
        response = await app.request(method, path, body, **options)
        assert response.status_code < 300, (method, path, response.text)
        return response.json()

    thing = await ok("POST", "/classes/Thing", {"n": 1, "tags": ["a", "b"], "name": "first"}, master=True)
    tid = thing["objectId"]
    await ok("POST", "/classes/Thing", {"n": 5, "tags": ["c"], "name": "second"})
    other = await ok("POST", "/classes/Other", {"thing": {"__type": "Pointer", "className": "Thing", "objectId": tid},
                                                "n": 2}, master=True)  # fmt: skip
    oid = other["objectId"]
    await ok("GET", f"/classes/Thing/{tid}")
    for where in (
        {"n": {"$gt": 0, "$lte": 10}}, {"n": {"$in": [1, 5]}}, {"name": {"$regex": "^fir"}}, {"tags": {"$all": ["a"]}},
        {"name": {"$exists": True}}, {"tags": {"$containedBy": ["a", "b", "c"]}},
        {"$or": [{"n": 1}, {"name": "second"}]},
    ):  # fmt: skip
        await ok("GET", "/classes/Thing", params={"where": where, "order": "-n", "limit": 5, "count": 1})
    in_query = {"className": "Thing", "where": {"n": 1}}
    await ok("GET", "/classes/Other", params={"where": {"thing": {"$inQuery": in_query}}})
    await ok("GET", "/classes/Other", params={"where": {"thing": {"$notInQuery": {"className": "Thing", "where": {}}}}})
    await ok("GET", "/classes/Other", params={"where": {"n": {"$select": {
        "query": {"className": "Thing", "where": {}}, "key": "n"}}}})  # fmt: skip
    await ok("GET", "/classes/Other", params={"include": "thing", "keys": "n,thing"})
    await ok("PUT", f"/classes/Thing/{tid}", {"n": {"__op": "Increment", "amount": 2},
                                               "tags": {"__op": "AddUnique", "objects": ["z"]}})  # fmt: skip
    await ok("PUT", f"/classes/Thing/{tid}", {"others": {"__op": "AddRelation", "objects": [
        {"__type": "Pointer", "className": "Other", "objectId": oid}]}}, master=True)  # fmt: skip
    await ok("GET", "/classes/Other", params={"where": {"$relatedTo": {
        "object": {"__type": "Pointer", "className": "Thing", "objectId": tid}, "key": "others"}}})  # fmt: skip
    await ok("GET", "/aggregate/Thing", params={"pipeline": [{"$group": {"_id": None, "total": {"$sum": "$n"}}}]},
             master=True)  # fmt: skip
    await ok("GET", "/aggregate/Thing", params={"distinct": "name"}, master=True)
    await ok("POST", "/batch", {"requests": [
        {"method": "POST", "path": "/parse/classes/Thing", "body": {"n": 9}},
        {"method": "PUT", "path": f"/parse/classes/Thing/{tid}", "body": {"name": "renamed"}},
    ], "transaction": True})  # fmt: skip
    await ok("POST", "/batch", {"requests": [{"method": "POST", "path": "/parse/classes/Thing", "body": {"n": 10}}]})
    user = await ok("POST", "/users", {"username": "ada", "password": "pw-ada-1234", "email": "ada@example.com"})
    session = user["sessionToken"]
    await ok("GET", "/login", params={"username": "ada", "password": "pw-ada-1234"})
    await ok("GET", "/users/me", session=session)
    await ok("PUT", f"/users/{user['objectId']}", {"email": "ada2@example.com"}, session=session)
    member = {"__type": "Pointer", "className": "_User", "objectId": user["objectId"]}
    await ok("POST", "/roles", {"name": "Editors", "ACL": {"*": {"read": True}},
                                "users": {"__op": "AddRelation", "objects": [member]}}, master=True)  # fmt: skip
    await ok("POST", "/classes/Secret", {"v": 1, "ACL": {"role:Editors": {"read": True}}}, master=True)
    await ok("GET", "/classes/Secret", session=session)
    installation_id = "a1b2c3d4-0000-4000-8000-000000000001"
    device = {"deviceType": "android", "installationId": installation_id, "deviceToken": "t-1"}
    await ok("POST", "/installations", device)
    await ok("GET", "/config")
    await ok("GET", "/schemas", master=True)
    await ok("POST", "/logout", {}, session=session)
    await ok("DELETE", f"/classes/Other/{oid}")
    await ok("DELETE", f"/classes/Thing/{tid}")


async def test_every_data_plane_statement_carries_its_apps_filter(
    app_a: ParseApp,  # noqa: F811
    app_b: ParseApp,  # noqa: F811
    statements: Recorded,
):
    tenant_tables = await sync_to_async(tables_with_app_id)()
    assert {"datastore_object", "datastore_relation"} <= tenant_tables
    for app in (app_a, app_b):  # the second app's statements name the second app, not the first
        statements.clear()
        await parse_workload(app)
        assert len(statements) > 50
        app_pk = app.tenant.app.pk
        problems = [(why, sql) for sql, params in statements if (why := unfiltered(sql, params, app_pk, tenant_tables))]
        assert problems == [], "\n\n".join(f"{why}:\n{sql}" for why, sql in problems)


def test_the_checker_catches_a_statement_without_the_filter():
    """The check itself: a fan-out query, another app's id and an insert without app_id are all caught."""
    tables = {"datastore_object", "datastore_object_app7"}
    assert unfiltered("SELECT data FROM datastore_object_app7 WHERE class_name = %s", ("T",), 7, tables)
    assert unfiltered("SELECT data FROM datastore_object WHERE app_id = %s", (8,), 7, tables)
    assert unfiltered("INSERT INTO datastore_object (class_name) VALUES (%s)", ("T",), 7, tables)
    assert unfiltered(
        "SELECT 1 FROM datastore_object WHERE app_id = %s AND EXISTS (SELECT 1 FROM datastore_object_app7 o)",
        (7,), 7, tables,
    )  # fmt: skip
    assert unfiltered("SELECT data FROM datastore_object_app7 WHERE app_id = %s AND n = %s", (7, 1), 7, tables) is None
