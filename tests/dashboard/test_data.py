"""The Data pages: classes with counts, create and delete, the keyset grid, filters, row and cell edits, roles."""

from __future__ import annotations

import re
from typing import Any

import orjson
import pytest
from asgiref.sync import async_to_sync
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from hangar.caller import Caller
from hangar.datastore import objects, queries, schemas
from hangar.parse_errors import ParseError
from tenants import data_browser
from tenants.data_browser import DataInputError, Filter
from tenants.models import AuditEvent
from tests.conftest import Tenant
from tests.dashboard.conftest import AddMember, logged_in

pytestmark = pytest.mark.django_db(transaction=True)


def url(tenant: Tenant, name: str, *extra: str) -> str:
    return reverse(f"dashboard:{name}", args=[tenant.organization.pk, tenant.app.pk, *extra])


def master(tenant: Tenant) -> Caller:
    return Caller(app_pk=tenant.app.pk, is_master=True)


def create_class(tenant: Tenant, name: str, fields: dict[str, Any]) -> None:
    async_to_sync(schemas.schema_create)(caller=master(tenant), class_name=name, body={"fields": fields})


def add(tenant: Tenant, class_name: str, body: dict[str, Any]) -> str:
    _response, object_id = async_to_sync(objects.object_create)(
        caller=master(tenant), class_name=class_name, body=body, files_base=""
    )
    return object_id


def stored(tenant: Tenant, class_name: str) -> list[dict[str, Any]]:
    found = async_to_sync(queries.object_find)(
        caller=master(tenant), class_name=class_name, params={"order": "createdAt"}, files_base=""
    )
    return list(found["results"])


def test_the_class_list_shows_counts_and_an_empty_state(alice_client: Client, tenant_a: Tenant) -> None:
    assert 'id="no-classes"' in alice_client.get(url(tenant_a, "data")).content.decode()
    create_class(tenant_a, "Pet", {"name": {"type": "String"}})
    add(tenant_a, "Pet", {"name": "Rex"})
    add(tenant_a, "Pet", {"name": "Fido"})

    page = alice_client.get(url(tenant_a, "data")).content.decode()

    assert 'data-count="Pet">2<' in page
    assert url(tenant_a, "data_class", "Pet") in page


def test_creating_a_class_with_first_fields_goes_through_the_schema_service(
    alice_client: Client, tenant_a: Tenant
) -> None:
    response = alice_client.post(
        url(tenant_a, "data_class_create"),
        {"class_name": "Game", "field_name": ["score", "owner", ""], "field_type": ["Number", "Pointer", "String"],
         "field_target": ["", "_User", ""]},
    )  # fmt: skip

    assert response.url == url(tenant_a, "data_class", "Game")
    schema = async_to_sync(schemas.schema_get)(caller=master(tenant_a), class_name="Game")
    assert schema["fields"]["score"] == {"type": "Number"}
    assert schema["fields"]["owner"] == {"type": "Pointer", "targetClass": "_User"}
    assert AuditEvent.objects.filter(action="data.class_create", organization=tenant_a.organization).exists()


def test_a_bad_class_name_is_a_parse_error_message_not_a_500(alice_client: Client, tenant_a: Tenant) -> None:
    response = alice_client.post(url(tenant_a, "data_class_create"), {"class_name": "9lives"}, follow=True)

    assert response.status_code == 200
    assert "Parse error 103" in response.content.decode()


def test_only_an_empty_class_can_be_deleted(alice_client: Client, tenant_a: Tenant) -> None:
    create_class(tenant_a, "Pet", {})
    object_id = add(tenant_a, "Pet", {})

    refused = alice_client.post(url(tenant_a, "data_class_delete", "Pet"), follow=True).content.decode()
    assert "Parse error 255" in refused
    alice_client.post(url(tenant_a, "data_rows_delete", "Pet"), {"object_id": [object_id]})
    alice_client.post(url(tenant_a, "data_class_delete", "Pet"))

    assert "Pet" not in async_to_sync(schemas.schema_list)(caller=master(tenant_a))["results"].__repr__()


def test_the_grid_pages_by_keyset_without_repeats_or_gaps(alice_client: Client, tenant_a: Tenant) -> None:
    create_class(tenant_a, "Item", {"n": {"type": "Number"}})
    ids = {add(tenant_a, "Item", {"n": n}) for n in range(5)}

    seen: list[str] = []
    cursor = None
    while True:
        page = data_browser.data_page(app=tenant_a.app, class_name="Item", cursor=cursor, limit=2)
        seen += [row["objectId"] for row in page.rows]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert sorted(seen) == sorted(ids)
    assert len(seen) == 5
    assert page.total == 5

    first = alice_client.get(url(tenant_a, "data_class", "Item")).content.decode()
    assert first.count("data-object-id=") == 5
    assert 'id="next-page"' not in first


def test_a_forged_page_cursor_is_a_clear_error(alice_client: Client, tenant_a: Tenant) -> None:
    create_class(tenant_a, "Item", {})

    page = alice_client.get(url(tenant_a, "data_class", "Item"), {"after": "!!!"}).content.decode()

    assert "not valid any more" in page


def test_the_filter_builder_produces_a_parse_where() -> None:
    fields = {"name": {"type": "String"}, "score": {"type": "Number"}, "done": {"type": "Boolean"},
              "at": {"type": "Date"}}  # fmt: skip
    where = data_browser.where_from_filters(
        fields,
        [Filter("score", "gt", "10"), Filter("score", "lte", "20"), Filter("name", "starts", "a.b"),
         Filter("done", "true"), Filter("at", "lt", "2026-01-02T03:04")],
    )  # fmt: skip
    assert where == {
        "score": {"$gt": 10, "$lte": 20},
        "name": {"$regex": "^a\\.b"},
        "done": True,
        "at": {"$lt": {"__type": "Date", "iso": "2026-01-02T03:04:00.000Z"}},
    }
    with pytest.raises(DataInputError, match="does not apply"):
        data_browser.where_from_filters(fields, [Filter("done", "gt", "1")])
    with pytest.raises(DataInputError, match="not a number"):
        data_browser.where_from_filters(fields, [Filter("score", "eq", "ten")])


def test_filtering_the_grid(alice_client: Client, tenant_a: Tenant) -> None:
    create_class(tenant_a, "Item", {"n": {"type": "Number"}})
    for n in range(4):
        add(tenant_a, "Item", {"n": n})

    page = alice_client.get(url(tenant_a, "data_class", "Item"), {"f": "n", "op": "gte", "v": "2"}).content.decode()

    assert page.count("data-object-id=") == 2
    assert "{&quot;n&quot;:{&quot;$gte&quot;:2}}" in page
    raw = alice_client.get(url(tenant_a, "data_class", "Item"), {"where": '{"n": 3}'}).content.decode()
    assert raw.count("data-object-id=") == 1


def test_adding_a_row_and_editing_a_cell_in_place(alice_client: Client, tenant_a: Tenant) -> None:
    create_class(tenant_a, "Pet", {"name": {"type": "String"}, "age": {"type": "Number"}, "tags": {"type": "Array"}})
    alice_client.post(url(tenant_a, "data_row_add", "Pet"), {"name": "Rex", "age": "3", "tags": ""})
    [pet] = stored(tenant_a, "Pet")
    assert (pet["name"], pet["age"], "tags" in pet) == ("Rex", 3, False)

    form = alice_client.get(url(tenant_a, "data_cell_edit", "Pet", pet["objectId"], "age"), HTTP_HX_REQUEST="true")
    assert 'name="value"' in form.content.decode()
    assert "<html" not in form.content.decode()
    saved = alice_client.post(
        url(tenant_a, "data_cell_save", "Pet", pet["objectId"], "age"), {"value": "4"}, HTTP_HX_REQUEST="true"
    )
    assert saved.status_code == 200
    assert ">4<span" in saved.content.decode()
    bad = alice_client.post(
        url(tenant_a, "data_cell_save", "Pet", pet["objectId"], "tags"), {"value": "{not json"}, HTTP_HX_REQUEST="true"
    )
    assert bad.status_code == 400
    assert "Not valid JSON" in bad.content.decode()
    alice_client.post(url(tenant_a, "data_cell_save", "Pet", pet["objectId"], "tags"), {"value": '["a"]'})

    [pet] = stored(tenant_a, "Pet")
    assert (pet["age"], pet["tags"]) == (4, ["a"])


def test_a_wrong_type_is_refused_by_the_datastore_validation(alice_client: Client, tenant_a: Tenant) -> None:
    create_class(tenant_a, "Pet", {"age": {"type": "Number"}})

    page = alice_client.post(url(tenant_a, "data_row_add", "Pet"), {"age": "old"}, follow=True).content.decode()

    assert "not a number" in page
    assert stored(tenant_a, "Pet") == []


def test_adding_and_removing_a_column(alice_client: Client, tenant_a: Tenant) -> None:
    create_class(tenant_a, "Pet", {})
    alice_client.post(url(tenant_a, "data_field_add", "Pet"), {"name": "owner", "type": "Pointer", "target": "_User"})
    assert data_browser.data_class_get(app=tenant_a.app, class_name="Pet")["fields"]["owner"]["type"] == "Pointer"

    alice_client.post(url(tenant_a, "data_field_remove", "Pet", "owner"))
    assert "owner" not in data_browser.data_class_get(app=tenant_a.app, class_name="Pet")["fields"]


def test_a_viewer_browses_but_changes_nothing(tenant_a: Tenant, add_member: AddMember) -> None:
    create_class(tenant_a, "Pet", {"name": {"type": "String"}})
    object_id = add(tenant_a, "Pet", {"name": "Rex"})
    viewer = logged_in(add_member(tenant_a, "vera", "viewer").developer)

    page = viewer.get(url(tenant_a, "data_class", "Pet")).content.decode()
    assert "Rex" in page
    assert 'id="add-row-form"' not in page
    assert "cell-edit" not in page
    assert 'id="delete-class"' not in page
    attempts = [
        viewer.post(url(tenant_a, "data_class_create"), {"class_name": "Sneaky"}),
        viewer.post(url(tenant_a, "data_class_delete", "Pet")),
        viewer.post(url(tenant_a, "data_field_add", "Pet"), {"name": "x", "type": "String"}),
        viewer.post(url(tenant_a, "data_field_remove", "Pet", "name")),
        viewer.post(url(tenant_a, "data_row_add", "Pet"), {"name": "Planted"}),
        viewer.post(url(tenant_a, "data_rows_delete", "Pet"), {"object_id": [object_id]}),
        viewer.get(url(tenant_a, "data_cell_edit", "Pet", object_id, "name")),
        viewer.post(url(tenant_a, "data_cell_save", "Pet", object_id, "name"), {"value": "Pwned"}),
    ]
    assert [response.status_code for response in attempts] == [403] * len(attempts)
    assert [pet["name"] for pet in stored(tenant_a, "Pet")] == ["Rex"]
    assert "Sneaky" not in repr(async_to_sync(schemas.schema_list)(caller=master(tenant_a)))


def test_a_class_of_the_same_name_in_another_app_stays_out_of_sight(
    alice_client: Client, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    for tenant in (tenant_a, tenant_b):
        create_class(tenant, "Pet", {"name": {"type": "String"}})
    add(tenant_b, "Pet", {"name": "BobsSecretPet"})
    add(tenant_a, "Pet", {"name": "Rex"})

    listed = alice_client.get(url(tenant_a, "data")).content.decode()
    grid = alice_client.get(url(tenant_a, "data_class", "Pet")).content.decode()
    everything = alice_client.get(url(tenant_a, "data_class", "Pet"), {"where": '{"name": "BobsSecretPet"}'})

    assert 'data-count="Pet">1<' in listed
    assert "Rex" in grid
    assert "BobsSecretPet" not in grid
    assert "BobsSecretPet" not in everything.content.decode().replace("&quot;BobsSecretPet&quot;", "")
    assert everything.content.decode().count("data-object-id=") == 0


def test_export_streams_every_object_as_csv_and_json(alice_client: Client, tenant_a: Tenant) -> None:
    create_class(tenant_a, "Item", {"n": {"type": "Number"}, "tags": {"type": "Array"}})
    for n in range(3):
        add(tenant_a, "Item", {"n": n, "tags": [str(n)]})

    as_json = alice_client.get(url(tenant_a, "data_export", "Item", "json"))
    as_csv = alice_client.get(url(tenant_a, "data_export", "Item", "csv"))

    assert as_json.streaming
    body = orjson.loads(b"".join(as_json.streaming_content))
    assert sorted(row["n"] for row in body["results"]) == [0, 1, 2]
    lines = b"".join(as_csv.streaming_content).decode().splitlines()
    assert {"objectId", "n", "tags", "createdAt"} <= set(lines[0].split(","))
    assert len(lines) == 4
    assert any('"[""1""]"' in line for line in lines), "arrays as JSON"
    assert as_csv["Content-Disposition"] == 'attachment; filename="Item.csv"'


def test_importing_a_csv_creates_objects_through_the_parse_create(alice_client: Client, tenant_a: Tenant) -> None:
    create_class(tenant_a, "Pet", {"name": {"type": "String"}, "age": {"type": "Number"}})
    csv_file = SimpleUploadedFile("pets.csv", b"objectId,name,age\nx1,Rex,3\nx2,Fido,old\nx3,Tom,5\n", "text/csv")

    page = alice_client.post(url(tenant_a, "data_import", "Pet"), {"file": csv_file}, follow=True).content.decode()

    assert "3 of 3 rows handled · 2 created · 1 refused" in page  # the import's progress page
    assert "line 3: &#x27;old&#x27; is not a number." in page
    assert sorted((pet["name"], pet["age"]) for pet in stored(tenant_a, "Pet")) == [("Rex", 3), ("Tom", 5)]
    assert all(pet["objectId"] not in ("x1", "x3") for pet in stored(tenant_a, "Pet")), "new ids, not the file's"


def test_importing_unknown_columns_is_refused_whole(alice_client: Client, tenant_a: Tenant) -> None:
    create_class(tenant_a, "Pet", {"name": {"type": "String"}})
    csv_file = SimpleUploadedFile("pets.csv", b"name,colour\nRex,brown\n", "text/csv")

    page = alice_client.post(url(tenant_a, "data_import", "Pet"), {"file": csv_file}, follow=True).content.decode()

    assert "Unknown columns: colour" in page
    assert stored(tenant_a, "Pet") == []


def test_a_viewer_exports_but_cannot_import(tenant_a: Tenant, add_member: AddMember) -> None:
    create_class(tenant_a, "Pet", {"name": {"type": "String"}})
    viewer = logged_in(add_member(tenant_a, "vera", "viewer").developer)

    assert viewer.get(url(tenant_a, "data_export", "Pet", "csv")).status_code == 200
    csv_file = SimpleUploadedFile("pets.csv", b"name\nPlanted\n", "text/csv")
    assert viewer.post(url(tenant_a, "data_import", "Pet"), {"file": csv_file}).status_code == 403
    assert stored(tenant_a, "Pet") == []


def test_editing_an_acl_hides_the_object_from_the_public(alice_client: Client, tenant_a: Tenant) -> None:
    create_class(tenant_a, "Note", {"text": {"type": "String"}})
    object_id = add(tenant_a, "Note", {"text": "secret"})
    public = Caller(app_pk=tenant_a.app.pk, is_master=False)

    def visible() -> int:
        found = async_to_sync(queries.object_find)(caller=public, class_name="Note", params={}, files_base="")
        return len(found["results"])

    assert visible() == 1
    bad = alice_client.post(
        url(tenant_a, "data_cell_save", "Note", object_id, "ACL"), {"value": '{"*": {"read": false}}'},
        HTTP_HX_REQUEST="true",
    )  # fmt: skip
    assert bad.status_code == 400
    assert "ACL rights are true" in bad.content.decode()
    alice_client.post(
        url(tenant_a, "data_cell_save", "Note", object_id, "ACL"), {"value": '{"role:Admins": {"read": true}}'}
    )

    assert visible() == 0
    [note] = stored(tenant_a, "Note")
    assert note["ACL"] == {"role:Admins": {"read": True}}


def test_class_level_permissions_are_saved_through_the_schema_service(alice_client: Client, tenant_a: Tenant) -> None:
    create_class(tenant_a, "Note", {"text": {"type": "String"}})
    add(tenant_a, "Note", {"text": "hi"})
    public = Caller(app_pk=tenant_a.app.pk, is_master=False)
    clp = {"find": {}, "get": {"*": True}, "count": {}, "create": {"*": True}, "update": {"*": True},
           "delete": {"*": True}, "addField": {}, "protectedFields": {"*": ["text"]}}  # fmt: skip

    bad = alice_client.post(url(tenant_a, "data_class_permissions", "Note"), {"clp": '{"find": {"*": "yes"}}'})
    assert "Parse error" in alice_client.get(bad.url).content.decode()
    alice_client.post(url(tenant_a, "data_class_permissions", "Note"), {"clp": orjson.dumps(clp).decode()})

    with pytest.raises(ParseError) as refused:
        async_to_sync(queries.object_find)(caller=public, class_name="Note", params={}, files_base="")
    assert refused.value.code == 119
    assert data_browser.data_class_get(app=tenant_a.app, class_name="Note")["classLevelPermissions"]["find"] == {}
    assert AuditEvent.objects.filter(action="data.class_permissions").exists()


def test_indexes_are_added_and_dropped(alice_client: Client, tenant_a: Tenant) -> None:
    create_class(tenant_a, "Item", {"n": {"type": "Number"}})

    alice_client.post(url(tenant_a, "data_index_add", "Item"), {"name": "by_n", "keys": '{"n": -1}'})
    assert data_browser.data_class_get(app=tenant_a.app, class_name="Item")["indexes"]["by_n"] == {"n": -1}
    page = alice_client.get(url(tenant_a, "data_class", "Item")).content.decode()
    assert 'id="index-list"' in page
    alice_client.post(url(tenant_a, "data_index_drop", "Item", "by_n"))
    assert "by_n" not in (data_browser.data_class_get(app=tenant_a.app, class_name="Item").get("indexes") or {})


def test_pointer_and_relation_cells_lead_to_their_objects(alice_client: Client, tenant_a: Tenant) -> None:
    create_class(tenant_a, "Pet", {"name": {"type": "String"}})
    create_class(tenant_a, "Home", {"pet": {"type": "Pointer", "targetClass": "Pet"},
                                    "pets": {"type": "Relation", "targetClass": "Pet"}})  # fmt: skip
    rex, fido = add(tenant_a, "Pet", {"name": "Rex"}), add(tenant_a, "Pet", {"name": "Fido"})
    add(tenant_a, "Pet", {"name": "Stray"})
    pointer = {"__type": "Pointer", "className": "Pet"}
    add(tenant_a, "Home", {"pet": {**pointer, "objectId": rex},
                           "pets": {"__op": "AddRelation", "objects": [{**pointer, "objectId": fido}]}})  # fmt: skip

    grid = alice_client.get(url(tenant_a, "data_class", "Home")).content.decode()
    links = dict.fromkeys(re.findall(r'href="([^"]+)" class="cell-link"', grid))

    pages = [alice_client.get(link.replace("&amp;", "&")).content.decode() for link in links]
    assert len(pages) == 2
    assert any("Rex" in page and "Fido" not in page for page in pages), "the pointer opens its object"
    assert any("Fido" in page and "Rex" not in page and "Stray" not in page for page in pages), "the relation view"
