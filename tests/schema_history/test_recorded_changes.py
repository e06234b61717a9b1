"""Schema changes made outside ``schema push`` land in the same history: the dashboard's edits and schema-on-write."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.test import Client
from django.urls import reverse

from hangar.caller import Caller
from hangar.datastore import objects, schemas
from hangar.datastore.connection import batch_transaction
from hangar.parse_errors import ParseError
from hangar.schema_history.document import document_render
from hangar.schema_history.models import SchemaMigration
from hangar.schema_history.selectors import schema_document_get, schema_plan
from hangar.schema_history.services import schema_rollback
from tests.conftest import Tenant
from tests.dashboard.conftest import logged_in

pytestmark = pytest.mark.django_db(transaction=True)


def _url(tenant: Tenant, name: str, *extra: str) -> str:
    return reverse(f"dashboard:{name}", args=[tenant.organization.pk, tenant.app.pk, *extra])


def _history(tenant: Tenant) -> list[SchemaMigration]:
    return list(SchemaMigration.objects.filter(app=tenant.app).order_by("number"))


def _ops(migration: SchemaMigration) -> list[str]:
    return [op["op"] for op in migration.operations]


def _client_save(tenant: Tenant, class_name: str, body: dict[str, Any], *, master: bool = False) -> str:
    caller = Caller(app_pk=tenant.app.pk, is_master=master)
    _response, object_id = async_to_sync(objects.object_create)(
        caller=caller, class_name=class_name, body=body, files_base=""
    )
    return object_id


def test_dashboard_edits_are_recorded_with_their_author_and_can_be_rolled_back(tenant_a: Tenant) -> None:
    alice: Client = logged_in(tenant_a.developer)
    alice.post(_url(tenant_a, "data_class_create"), {
        "class_name": "Pet", "field_name": ["name"], "field_type": ["String"], "field_target": [""],
    })  # fmt: skip
    alice.post(_url(tenant_a, "data_field_add", "Pet"), {"name": "age", "type": "Number"})
    alice.post(_url(tenant_a, "data_index_add", "Pet"), {"name": "by_age", "keys": '{"age": -1}'})
    alice.post(_url(tenant_a, "data_class_permissions", "Pet"), {"clp": '{"find": {"*": true}, "get": {"*": true}}'})
    alice.post(_url(tenant_a, "data_index_drop", "Pet", "by_age"))
    alice.post(_url(tenant_a, "data_field_remove", "Pet", "name"))

    history = _history(tenant_a)
    assert [m.source for m in history] == ["dashboard"] * 6
    assert {m.author_email for m in history} == {tenant_a.developer.email}
    assert [_ops(m) for m in history] == [
        ["addClass"], ["addField"], ["addIndex"], ["setPermissions"], ["dropIndex"], ["dropField"],
    ]  # fmt: skip
    assert history[-1].irreversible  # a dropped column's values are gone: said so, not pretended

    # `schema pull` shows the app as the dashboard left it; rolling back the column drop brings the column back.
    pulled = document_render(schema_document_get(app=tenant_a.app))
    assert pulled["classes"]["Pet"]["fields"] == {"age": {"type": "Number"}}
    assert pulled["classes"]["Pet"]["classLevelPermissions"]["find"] == {"*": True}
    schema_rollback(app=tenant_a.app, author="a@example.com")
    assert (
        "name"
        in async_to_sync(schemas.schema_get)(caller=Caller(app_pk=tenant_a.app.pk, is_master=True), class_name="Pet")[
            "fields"
        ]
    )


def test_a_refused_dashboard_edit_records_nothing(tenant_a: Tenant) -> None:
    alice: Client = logged_in(tenant_a.developer)
    alice.post(_url(tenant_a, "data_class_create"), {"class_name": "Pet"})
    refused = alice.post(_url(tenant_a, "data_class_permissions", "Pet"), {"clp": '{"find": {"*": "yes"}}'})
    assert refused.status_code in {200, 302}
    assert [_ops(m) for m in _history(tenant_a)] == [["addClass"]]


def test_schema_on_write_is_recorded_and_schema_diff_sees_it(tenant_a: Tenant, tenant_b: Tenant) -> None:
    _client_save(tenant_a, "Score", {"points": 1}, master=True)  # a new class, by the master key
    file_then = document_render(schema_document_get(app=tenant_a.app))
    _client_save(tenant_a, "Score", {"points": 2, "player": "ada", "where": {"__type": "GeoPoint",
                 "latitude": 1.0, "longitude": 2.0}})  # fmt: skip  # an end user's save adds two fields
    _client_save(tenant_a, "Score", {"points": 3, "player": "bob"})  # nothing new: nothing recorded

    history = _history(tenant_a)
    # The class (created empty by the save), its first field, then the end user's two: one migration each save.
    assert [(m.source, _ops(m)) for m in history] == [
        ("schema_on_write", ["addClass"]), ("schema_on_write", ["addField"]),
        ("schema_on_write", ["addField", "addField"]),
    ]  # fmt: skip
    assert history[1].operations[0]["field"] == "points"
    assert {op["field"]: op["spec"]["type"] for op in history[2].operations} == {
        "player": "String",
        "where": "GeoPoint",
    }
    # The file pulled before the client's save now differs from the app: diff names the new fields.
    plan = schema_plan(app=tenant_a.app, raw=file_then, allow_destructive=True)
    assert {(op["op"], op["field"]) for op in plan.operations} == {("dropField", "player"), ("dropField", "where")}
    # Another tenant's history is untouched.
    assert not SchemaMigration.objects.filter(app=tenant_b.app).exists()

    # Like any migration, it rolls back (the fields go; they were added by the save).
    schema_rollback(app=tenant_a.app, author="a@example.com")
    fields = document_render(schema_document_get(app=tenant_a.app))["classes"]["Score"]["fields"]
    assert set(fields) == {"points"}


def test_the_history_follows_what_was_committed(tenant_a: Tenant) -> None:
    """A batch that rolls back, or a refused save, records nothing."""
    _client_save(tenant_a, "Score", {"points": 1}, master=True)
    caller = Caller(app_pk=tenant_a.app.pk, is_master=True)

    async def batch_that_fails() -> None:
        async with batch_transaction(tenant_a.app.pk):
            await objects.object_create(caller=caller, class_name="Score", body={"bonus": 5}, files_base="")
            raise ParseError(141, "the rest of the batch failed")

    with pytest.raises(ParseError):
        async_to_sync(batch_that_fails)()
    assert "bonus" not in async_to_sync(schemas.schema_get)(caller=caller, class_name="Score")["fields"]
    assert [_ops(m) for m in _history(tenant_a)] == [["addClass"], ["addField"]]

    # A save refused for a type mismatch adds none of its new fields, and records nothing.
    with pytest.raises(ParseError):
        _client_save(tenant_a, "Score", {"points": "many", "extra": True})
    assert "extra" not in async_to_sync(schemas.schema_get)(caller=caller, class_name="Score")["fields"]
    assert len(_history(tenant_a)) == 2
