"""The data browser's sort by any column, its typed editors (ACL, pointer, file), the CLP form and the JSON import."""

from __future__ import annotations

import re
from typing import Any

import orjson
import pytest
from asgiref.sync import async_to_sync
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from hangar.datastore import schemas
from hangar.files.models import StoredFile
from tenants import data_browser, data_import, users_console
from tests.conftest import Tenant
from tests.dashboard.conftest import AddMember, logged_in
from tests.dashboard.test_data import add, create_class, master, stored, url

pytestmark = pytest.mark.django_db(transaction=True)


def every_page(tenant: Tenant, class_name: str, sort: str, limit: int = 2) -> list[dict[str, Any]]:
    rows, cursor = [], None
    while True:
        page = data_browser.data_page(
            app=tenant.app, class_name=class_name, sort=sort, cursor=cursor, limit=limit, counted=False
        )
        rows.extend(page.rows)
        if page.next_cursor is None:
            return rows
        cursor = page.next_cursor


# Sorting --------------------------------------------------------------------------------------


@pytest.mark.parametrize("column", ["score", "name", "seen", "alive"])
def test_keyset_pages_by_any_column_visit_each_row_once_in_order(tenant_a: Tenant, column: str) -> None:
    """Ties, missing values (last both ways) and page edges: every row once, in the order a single find gives."""
    create_class(tenant_a, "Pet", {"score": {"type": "Number"}, "name": {"type": "String"},
                                   "seen": {"type": "Date"}, "alive": {"type": "Boolean"}})  # fmt: skip
    values = [
        {"score": 3, "name": "b", "seen": {"__type": "Date", "iso": "2026-01-03T00:00:00.000Z"}, "alive": True},
        {"score": 1, "name": "a", "seen": {"__type": "Date", "iso": "2026-01-01T00:00:00.000Z"}, "alive": False},
        {"score": 3, "name": "b", "seen": {"__type": "Date", "iso": "2026-01-03T00:00:00.000Z"}, "alive": True},
        {}, {"score": 2.5, "name": "c", "alive": False}, {}, {"score": 3, "name": "b", "alive": True},
    ]  # fmt: skip
    for body in values:
        add(tenant_a, "Pet", body)

    for sort in (column, f"-{column}"):
        paged = [row["objectId"] for row in every_page(tenant_a, "Pet", sort)]
        whole = data_browser.data_page(app=tenant_a.app, class_name="Pet", sort=sort, limit=100, counted=False)
        assert paged == [row["objectId"] for row in whole.rows], sort
        assert len(set(paged)) == len(values)
        present = [row[column] for row in whole.rows if column in row]
        key = (lambda value: value["iso"]) if column == "seen" else (lambda value: value)
        assert [key(value) for value in present] == sorted(map(key, present), reverse=sort.startswith("-"))
        assert all(column not in row for row in whole.rows[len(present) :]), "missing values come last"


def test_column_headers_sort_and_an_unsortable_column_is_refused_not_a_500(
    alice_client: Client, tenant_a: Tenant
) -> None:
    create_class(tenant_a, "Pet", {"name": {"type": "String"}, "tags": {"type": "Array"}})
    for name in ("b", "c", "a"):
        add(tenant_a, "Pet", {"name": name})

    page = alice_client.get(url(tenant_a, "data_class", "Pet"), {"sort": "name"}).content.decode()
    assert re.findall(r'<td class="data-cell" id="cell-\w+-name">\s*<a[^>]*>(\w)', page) == ["a", "b", "c"]
    assert 'aria-sort="ascending"' in page
    assert "sort=-name" in page, "the header of the sorted column now sorts descending"
    refused = alice_client.get(url(tenant_a, "data_class", "Pet"), {"sort": "tags"})
    assert refused.status_code == 200
    assert "cannot be sorted" in refused.content.decode()
    stale = alice_client.get(url(tenant_a, "data_class", "Pet"), {"sort": "name", "after": "bm90IGEgY3Vyc29y"})
    assert "not valid any more" in stale.content.decode()


# Paging of the other lists ----------------------------------------------------------------------


def test_roles_and_the_class_list_are_paginated(
    alice_client: Client, tenant_a: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(users_console, "ROLES_LISTED", 2)
    monkeypatch.setattr(data_browser, "CLASSES_PER_PAGE", 2)
    for name in ("Delta", "Alpha", "Charlie", "Bravo", "Echo"):
        users_console.role_create(app=tenant_a.app, name=name)
    seen, address = [], url(tenant_a, "roles")
    while address:
        page = alice_client.get(address).content.decode()
        seen += re.findall(r'<li><a href="[^"]+/roles/\w+/">(\w+)</a></li>', page)
        more = re.search(r'href="(\?[^"]+)" id="roles-next"', page)
        address = url(tenant_a, "roles") + more.group(1).replace("&amp;", "&") if more else ""
    assert seen == ["Alpha", "Bravo", "Charlie", "Delta", "Echo"]

    first = alice_client.get(url(tenant_a, "data")).content.decode()
    assert 'id="classes-next"' in first
    assert "Page 1 of" in first


# Nested roles -----------------------------------------------------------------------------------


def test_nested_roles_grant_the_parent_and_a_cycle_is_refused(
    alice_client: Client, tenant_a: Tenant, add_member: AddMember
) -> None:
    from tests.dashboard.test_roles import roles_of

    ada = users_console.user_create(app=tenant_a.app, username="ada", password="pw-12345")
    staff, admins, owners = (users_console.role_create(app=tenant_a.app, name=name)
                             for name in ("Staff", "Admins", "Owners"))  # fmt: skip
    users_console.role_member_add(app=tenant_a.app, role_id=owners, username="ada")

    alice_client.post(url(tenant_a, "role_child_add", staff), {"name": "Admins"})  # Admins' users are Staff
    alice_client.post(url(tenant_a, "role_child_add", admins), {"name": "Owners"})  # Owners' users are Admins
    assert roles_of(tenant_a, ada) == {"Owners", "Admins", "Staff"}
    page = alice_client.get(url(tenant_a, "role_detail", admins)).content.decode()
    assert re.search(r'id="child-role-list">.*Owners', page, re.DOTALL)
    assert re.search(r'id="parent-roles">.*Staff', page, re.DOTALL)

    for role_id, child in ((owners, "Staff"), (owners, "Admins"), (staff, "Staff")):
        refused = alice_client.post(url(tenant_a, "role_child_add", role_id), {"name": child}, follow=True)
        assert "would make a cycle" in refused.content.decode()
    assert users_console.role_children(app=tenant_a.app, role_id=owners).rows == []
    missing = alice_client.post(url(tenant_a, "role_child_add", staff), {"name": "Nobody"}, follow=True)
    assert "No role named" in missing.content.decode()

    viewer = logged_in(add_member(tenant_a, "vera", "viewer").developer)
    assert viewer.post(url(tenant_a, "role_child_remove", staff, admins)).status_code == 403
    assert viewer.post(url(tenant_a, "role_child_add", owners), {"name": "Staff"}).status_code == 403
    alice_client.post(url(tenant_a, "role_child_remove", staff, admins))
    assert users_console.role_children(app=tenant_a.app, role_id=staff).rows == []


def test_the_roles_a_role_inherits_from_are_paged_past_the_first_page(
    alice_client: Client, tenant_a: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(users_console, "ROLES_LISTED", 2)
    member = users_console.role_create(app=tenant_a.app, name="Member")
    for name in ("Delta", "Alpha", "Charlie", "Bravo", "Echo"):
        parent = users_console.role_create(app=tenant_a.app, name=name)
        users_console.role_child_add(app=tenant_a.app, role_id=parent, child_name="Member")
    seen, address = [], url(tenant_a, "role_detail", member)
    while address:
        page = alice_client.get(address).content.decode()
        shown = re.search(r'id="parent-roles">(.*?)</p>', page, re.DOTALL)
        assert shown is not None
        seen += re.findall(r'/roles/\w+/">(\w+)</a>', shown.group(1))
        more = re.search(r'href="(\?[^"]+)" id="parent-roles-next"', page)
        address = url(tenant_a, "role_detail", member) + more.group(1).replace("&amp;", "&") if more else ""
    assert seen == ["Alpha", "Bravo", "Charlie", "Delta", "Echo"]


# CLP form ---------------------------------------------------------------------------------------


def test_the_clp_form_saves_what_the_api_stores_and_shows_it_back(alice_client: Client, tenant_a: Tenant) -> None:
    create_class(tenant_a, "Note", {"owner": {"type": "Pointer", "targetClass": "_User"},
                                    "secret": {"type": "String"}})  # fmt: skip
    form = {
        "mode": "form", "find-public": "on", "get-public": "on", "count-auth": "on",
        "create-roles": "Writers, Admins", "update-users": "abcDEF1234", "delete-pointers": "owner",
        "read-user-fields": "owner", "protected-scope": ["*", "role:Admins", ""],
        "protected-fields": ["secret", "", ""],
    }  # fmt: skip
    response = alice_client.post(url(tenant_a, "data_class_permissions", "Note"), form)
    assert response.status_code == 302

    clp = async_to_sync(schemas.schema_get)(caller=master(tenant_a), class_name="Note")["classLevelPermissions"]
    assert clp["find"] == {"*": True}
    assert clp["count"] == {"requiresAuthentication": True}
    assert clp["create"] == {"role:Writers": True, "role:Admins": True}
    assert clp["update"] == {"abcDEF1234": True}
    assert clp["delete"] == {"pointerFields": ["owner"]}
    assert clp["addField"] == {}
    assert clp["readUserFields"] == ["owner"]
    assert clp["protectedFields"] == {"*": ["secret"], "role:Admins": []}
    page = alice_client.get(url(tenant_a, "data_class", "Note")).content.decode()
    assert 'name="create-roles" id="clp-create-roles" value="Admins, Writers"' in page  # stored key order
    assert re.search(r'name="find-public" id="clp-find-public"\s+checked', page)

    bad = alice_client.post(
        url(tenant_a, "data_class_permissions", "Note"), {"mode": "form", "get-pointers": "secret"}, follow=True
    )
    assert "is not a valid column for class level pointer permissions" in bad.content.decode()
    after = async_to_sync(schemas.schema_get)(caller=master(tenant_a), class_name="Note")["classLevelPermissions"]
    assert after == clp, "a refused form changes nothing"


# ACL, pointer and file editors ------------------------------------------------------------------


def test_the_acl_editor_grants_users_and_roles_by_name_and_refuses_unknown_ones(
    alice_client: Client, tenant_a: Tenant
) -> None:
    ada = users_console.user_create(app=tenant_a.app, username="ada", password="pw-12345")
    users_console.role_create(app=tenant_a.app, name="Editors")
    create_class(tenant_a, "Doc", {"title": {"type": "String"}})
    doc = add(tenant_a, "Doc", {"title": "t", "ACL": {"*": {"read": True, "write": True}}})
    save = url(tenant_a, "data_cell_save", "Doc", doc, "ACL")

    alice_client.post(save, {
        "editor": "acl", "acl-principal": ["*"], "acl-read": ["*"], "acl-user": "ada",
        "acl-user-access": "read-write", "acl-role": "Editors", "acl-role-access": "write",
    })  # fmt: skip
    acl = stored(tenant_a, "Doc")[0]["ACL"]
    assert acl == {"*": {"read": True}, ada: {"read": True, "write": True}, "role:Editors": {"write": True}}

    editor = alice_client.get(url(tenant_a, "data_cell_edit", "Doc", doc, "ACL"), HTTP_HX_REQUEST="true")
    assert 'data-principal="role:Editors"' in editor.content.decode()
    assert ">ada<" in editor.content.decode(), "users show by username"

    for picks in ({"acl-user": "nobody"}, {"acl-role": "Ghosts"}, {"acl-principal": ["bad key!"]}):
        refused = alice_client.post(save, {"editor": "acl", **picks}, HTTP_HX_REQUEST="true")
        assert refused.status_code == 400
        assert "form-error" in refused.content.decode()
    assert stored(tenant_a, "Doc")[0]["ACL"] == acl, "a refused edit changes nothing"


def test_the_pointer_picker_searches_the_target_class_and_saves_the_pick(
    alice_client: Client, tenant_a: Tenant
) -> None:
    create_class(tenant_a, "Owner", {"name": {"type": "String"}})
    create_class(tenant_a, "Pet", {"owner": {"type": "Pointer", "targetClass": "Owner"}})
    zoe = add(tenant_a, "Owner", {"name": "Zoe"})
    add(tenant_a, "Owner", {"name": "Max"})
    pet = add(tenant_a, "Pet", {})

    found = alice_client.get(url(tenant_a, "data_cell_edit", "Pet", pet, "owner"), {"q": "Zo"}).content.decode()
    assert f'value="{zoe}"' in found
    assert "Max" not in found
    assert "<html" in found, "without htmx the editor is a page of its own"

    alice_client.post(url(tenant_a, "data_cell_save", "Pet", pet, "owner"), {"value": "", "pick": zoe})
    assert stored(tenant_a, "Pet")[0]["owner"] == {"__type": "Pointer", "className": "Owner", "objectId": zoe}
    bad = alice_client.post(
        url(tenant_a, "data_cell_save", "Pet", pet, "owner"), {"value": "not an id!"}, HTTP_HX_REQUEST="true"
    )
    assert bad.status_code == 400


def test_the_file_picker_uploads_replaces_and_leaves_no_orphan_on_a_refused_save(
    alice_client: Client, tenant_a: Tenant
) -> None:
    create_class(tenant_a, "Pet", {"photo": {"type": "File"}})
    pet = add(tenant_a, "Pet", {})
    save = url(tenant_a, "data_cell_save", "Pet", pet, "photo")

    alice_client.post(save, {"file": SimpleUploadedFile("rex.png", b"\x89PNG fake", content_type="image/png")})
    first = stored(tenant_a, "Pet")[0]["photo"]
    grid = alice_client.get(url(tenant_a, "data_class", "Pet")).content.decode()
    assert re.search(rf'href="[^"]*/files/{tenant_a.app.application_id}/{first["name"]}" class="cell-link"', grid)
    assert first["__type"] == "File"
    assert first["name"].endswith("rex.png")
    alice_client.post(save, {"file": SimpleUploadedFile("rex2.png", b"\x89PNG other", content_type="image/png")})
    assert stored(tenant_a, "Pet")[0]["photo"]["name"] != first["name"]
    assert StoredFile.objects.filter(app=tenant_a.app).count() == 2

    gone = url(tenant_a, "data_cell_save", "Pet", "noSuchPet1", "photo")
    refused = alice_client.post(gone, {"file": SimpleUploadedFile("x.png", b"data", content_type="image/png")})
    assert refused.status_code == 302
    assert StoredFile.objects.filter(app=tenant_a.app).count() == 2, "the refused save's upload was deleted"

    alice_client.post(save, {"remove": "1"})
    assert "photo" not in stored(tenant_a, "Pet")[0]


def test_a_viewer_gets_no_editor_and_cannot_save(tenant_a: Tenant, add_member: AddMember) -> None:
    create_class(tenant_a, "Doc", {"title": {"type": "String"}})
    doc = add(tenant_a, "Doc", {"title": "t"})
    viewer = logged_in(add_member(tenant_a, "vera", "viewer").developer)

    assert viewer.get(url(tenant_a, "data_cell_edit", "Doc", doc, "ACL")).status_code == 403
    saved = viewer.post(url(tenant_a, "data_cell_save", "Doc", doc, "ACL"), {"editor": "acl", "acl-principal": "*"})
    assert saved.status_code == 403
    upload = SimpleUploadedFile("a.json", b"[]", content_type="application/json")
    assert viewer.post(url(tenant_a, "data_import", "Doc"), {"file": upload}).status_code == 403
    assert viewer.post(url(tenant_a, "data_class_permissions", "Doc"), {"mode": "form"}).status_code == 403
    assert "ACL" not in stored(tenant_a, "Doc")[0] or stored(tenant_a, "Doc")[0]["ACL"] != {}


# JSON import ------------------------------------------------------------------------------------


def json_upload(rows: Any) -> SimpleUploadedFile:
    return SimpleUploadedFile("pets.json", orjson.dumps(rows), content_type="application/json")


def test_a_json_import_reports_refused_rows_and_imports_the_rest(alice_client: Client, tenant_a: Tenant) -> None:
    create_class(tenant_a, "Pet", {"name": {"type": "String"}, "age": {"type": "Number"}})
    export = {"results": [
        {"objectId": "oldId00001", "name": "Rex", "age": 3, "createdAt": "2020-01-01T00:00:00.000Z"},
        {"name": "Tom", "age": "five"}, "not an object", {"name": "Kit", "age": 1, "ACL": {"*": {"read": True}}},
    ]}  # fmt: skip

    response = alice_client.post(url(tenant_a, "data_import", "Pet"), {"file": json_upload(export)}, follow=True)

    page = response.content.decode()
    assert 'data-status="done"' in page
    assert "4 of 4 rows handled · 2 created · 2 refused" in page
    assert "row 2: age is a Number column; this row has a String" in page
    assert "row 3: each row is a JSON object" in page
    pets = stored(tenant_a, "Pet")
    assert sorted(pet["name"] for pet in pets) == ["Kit", "Rex"]
    assert all(pet["objectId"] != "oldId00001" for pet in pets)
    assert next(pet for pet in pets if pet["name"] == "Kit")["ACL"] == {"*": {"read": True}}


def test_a_fatal_import_error_keeps_nothing(
    alice_client: Client, tenant_a: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the refused-row limit the job fails and deletes the objects it had created: no partial import."""
    monkeypatch.setattr(data_import, "MAX_ROW_ERRORS", 3)
    monkeypatch.setattr(data_import, "BATCH_SIZE", 2)
    create_class(tenant_a, "Pet", {"age": {"type": "Number"}})
    rows = [{"age": number} for number in range(5)] + [{"age": "bad"}] * 4

    page = alice_client.post(url(tenant_a, "data_import", "Pet"), {"file": json_upload(rows)}, follow=True)

    text = page.content.decode()
    assert 'data-status="failed"' in text
    assert "More than 3 rows were refused" in text
    assert "5 objects this import had created were deleted again" in text
    assert stored(tenant_a, "Pet") == []


def test_a_file_that_is_not_an_import_is_refused_before_any_job(alice_client: Client, tenant_a: Tenant) -> None:
    create_class(tenant_a, "Pet", {"age": {"type": "Number"}})
    for content in (b"{not json", b'{"rows": []}', b'"text"'):
        upload = SimpleUploadedFile("x.json", content, content_type="application/json")
        response = alice_client.post(url(tenant_a, "data_import", "Pet"), {"file": upload}, follow=True)
        assert response.redirect_chain[-1][0] == url(tenant_a, "data_class", "Pet")
        assert "Parse error" in response.content.decode()
    assert stored(tenant_a, "Pet") == []


def test_an_import_job_is_seen_only_from_its_own_app(alice_client: Client, tenant_a: Tenant, tenant_b: Tenant) -> None:
    create_class(tenant_a, "Pet", {"age": {"type": "Number"}})
    create_class(tenant_b, "Pet", {"age": {"type": "Number"}})
    job = data_import.import_start(app=tenant_b.app, class_name="Pet", content=b'[{"age": 1}]')

    assert alice_client.get(url(tenant_a, "data_import_status", "Pet", job.public_id)).status_code == 404
    bob = logged_in(tenant_b.developer)
    shown = bob.get(url(tenant_b, "data_import_status", "Pet", job.public_id), HTTP_HX_REQUEST="true")
    assert 'data-status="done"' in shown.content.decode()
    assert "<html" not in shown.content.decode(), "htmx polls get the fragment"


def test_the_new_forms_refuse_a_post_without_the_csrf_token(tenant_a: Tenant) -> None:
    create_class(tenant_a, "Doc", {"title": {"type": "String"}})
    doc = add(tenant_a, "Doc", {"title": "t"})
    role = users_console.role_create(app=tenant_a.app, name="Staff")
    client = Client(enforce_csrf_checks=True)
    client.force_login(tenant_a.developer)

    posts = [
        (url(tenant_a, "data_cell_save", "Doc", doc, "ACL"), {"editor": "acl", "acl-principal": "*"}),
        (url(tenant_a, "data_class_permissions", "Doc"), {"mode": "form"}),
        (url(tenant_a, "data_import", "Doc"), {"file": json_upload([{"title": "planted"}])}),
        (url(tenant_a, "role_child_add", role), {"name": "Staff"}),
    ]
    for address, data in posts:
        assert client.post(address, data).status_code == 403, address
    assert [row["title"] for row in stored(tenant_a, "Doc")] == ["t"]
    assert "ACL" not in stored(tenant_a, "Doc")[0] or stored(tenant_a, "Doc")[0]["ACL"] != {}


def test_a_csv_import_runs_as_a_job_too_and_a_bad_header_is_refused_before_it(
    alice_client: Client, tenant_a: Tenant
) -> None:
    create_class(tenant_a, "Pet", {"name": {"type": "String"}, "born": {"type": "Date"}})
    content = b"name,born,ACL\nRex,2020-01-02T03:04:05Z,ignored\nTom,not a date,\n"

    job = data_import.import_start(app=tenant_a.app, class_name="Pet", content=content, is_csv=True)

    done = data_import.import_job_get(app=tenant_a.app, job_id=job.public_id)
    assert done is not None
    assert (done.status, done.created, done.error_count) == ("done", 1, 1)
    assert done.errors[0].startswith("line 3: 'not a date' is not a date")
    [rex] = stored(tenant_a, "Pet")
    assert rex["born"] == {"__type": "Date", "iso": "2020-01-02T03:04:05.000Z"}
    with pytest.raises(data_browser.DataInputError, match="Unknown columns: colour"):
        data_import.import_start(app=tenant_a.app, class_name="Pet", content=b"name,colour\nA,b\n", is_csv=True)
