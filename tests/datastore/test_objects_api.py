"""Objects through the Parse REST API: create, get, update, delete, types and operators."""

from __future__ import annotations

import re

import pytest

from tests.datastore.conftest import ParseApp

pytestmark = pytest.mark.django_db(transaction=True)
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


async def test_create_get_update_delete(app_a: ParseApp):
    created = await app_a.request("POST", "/classes/GameScore", {"score": 1337, "playerName": "Sean"}, master=True)
    assert created.status_code == 201, created.text
    body = created.json()
    assert re.fullmatch(r"[A-Za-z0-9]{10}", body["objectId"])
    assert ISO_MS.match(body["createdAt"])
    assert created.headers["location"].endswith(f"/parse/classes/GameScore/{body['objectId']}")
    object_id = body["objectId"]

    fetched = (await app_a.request("GET", f"/classes/GameScore/{object_id}")).json()
    assert fetched["score"] == 1337
    assert fetched["playerName"] == "Sean"
    assert fetched["createdAt"] == fetched["updatedAt"] == body["createdAt"]

    updated = await app_a.request("PUT", f"/classes/GameScore/{object_id}", {"score": 1338})
    assert updated.status_code == 200
    assert set(updated.json()) == {"updatedAt"}
    assert (await app_a.request("GET", f"/classes/GameScore/{object_id}")).json()["score"] == 1338

    deleted = await app_a.request("DELETE", f"/classes/GameScore/{object_id}")
    assert (deleted.status_code, deleted.json()) == (200, {})
    missing = await app_a.request("GET", f"/classes/GameScore/{object_id}")
    assert (missing.status_code, missing.json()) == (404, {"code": 101, "error": "Object not found."})


async def test_clients_cannot_create_classes_but_master_can(app_a: ParseApp):
    refused = await app_a.request("POST", "/classes/Brand", {"name": "x"})
    assert refused.status_code == 400
    assert refused.json() == {"code": 119, "error": "This user is not allowed to access non-existent class: Brand"}
    assert (await app_a.request("POST", "/classes/Brand", {"name": "x"}, master=True)).status_code == 201
    # Once the class exists, clients may add objects and (addField CLP) new fields.
    assert (await app_a.request("POST", "/classes/Brand", {"name": "y", "country": "NZ"})).status_code == 201


async def test_every_type_round_trips(app_a: ParseApp):
    values = {
        "text": "hello", "number": 3.5, "flag": True, "obj": {"a": {"b": 1}}, "list": [1, "x", {"k": None}],
        "when": {"__type": "Date", "iso": "2022-01-01T12:23:45+02:00"},
        "owner": {"__type": "Pointer", "className": "_User", "objectId": "abcDEF1234"},
        "where": {"__type": "GeoPoint", "latitude": 40.0, "longitude": -30.0},
        "area": {"__type": "Polygon", "coordinates": [[0, 0], [0, 1], [1, 1]]},
        "blob": {"__type": "Bytes", "base64": "AAEC"},
        "avatar": {"__type": "File", "name": "abc_me.png", "url": "http://ignored"},
    }  # fmt: skip
    created = (await app_a.request("POST", "/classes/Everything", values, master=True)).json()
    got = (await app_a.request("GET", f"/classes/Everything/{created['objectId']}")).json()
    assert got["text"] == "hello"
    assert got["number"] == 3.5
    assert got["flag"] is True
    assert got["obj"] == {"a": {"b": 1}}
    assert got["list"] == [1, "x", {"k": None}]
    assert got["when"] == {"__type": "Date", "iso": "2022-01-01T10:23:45.000Z"}
    assert got["owner"] == values["owner"]
    assert got["where"] == values["where"]
    assert got["area"]["coordinates"] == [[0, 0], [0, 1], [1, 1], [0, 0]]
    assert got["blob"] == values["blob"]
    assert got["avatar"]["name"] == "abc_me.png"
    assert got["avatar"]["url"].endswith(f"/parse/files/{app_a.tenant.application_id}/abc_me.png")
    schema = (await app_a.request("GET", "/classes/Everything", master=True)).json()
    assert len(schema["results"]) == 1


async def test_type_conflicts_answer_111(app_a: ParseApp):
    await app_a.request("POST", "/classes/Score", {"score": 1}, master=True)
    conflict = await app_a.request("POST", "/classes/Score", {"score": "high"})
    assert conflict.status_code == 400
    assert conflict.json() == {"code": 111, "error": "schema mismatch for Score.score; expected Number but got String"}


async def test_bad_names_and_values(app_a: ParseApp):
    await app_a.request("POST", "/classes/Thing", {"a": 1}, master=True)
    bad_field = await app_a.request("POST", "/classes/Thing", {"bl!ng": 1})
    assert bad_field.json() == {"code": 105, "error": "Invalid field name: bl!ng."}
    bad_class = await app_a.request("POST", "/classes/1Thing", {"a": 1}, master=True)
    assert bad_class.status_code in (400, 404)
    with_id = await app_a.request("POST", "/classes/Thing", {"objectId": "x", "a": 1})
    assert with_id.json()["code"] == 105
    nested = await app_a.request("POST", "/classes/Thing", {"o": {"a.b": 1}})
    assert nested.json()["code"] == 121
    bad_op = await app_a.request("POST", "/classes/Thing", {"a": {"__op": "Explode"}})
    assert bad_op.json() == {"code": 108, "error": "The Explode operator is not supported yet."}
    bad_increment = await app_a.request("POST", "/classes/Thing", {"a": {"__op": "Increment", "amount": "1"}})
    assert bad_increment.json() == {"code": 107, "error": "incrementing must provide a number"}


async def test_update_operators_echo_their_results(app_a: ParseApp):
    created = await app_a.request(
        "POST", "/classes/OpTest",
        {"n": {"__op": "Increment", "amount": 3}, "a": {"__op": "Add", "objects": [1, 2]},
         "r": {"__op": "Remove", "objects": [1]}, "plain": "x"},
        master=True,
    )  # fmt: skip
    body = created.json()
    assert body["n"] == 3
    assert body["a"] == [1, 2]
    assert body["r"] == []
    assert "plain" not in body
    object_id = body["objectId"]
    updated = await app_a.request(
        "PUT", f"/classes/OpTest/{object_id}",
        {"n": {"__op": "Increment", "amount": 2}, "a": {"__op": "AddUnique", "objects": [2, 3, 3]},
         "r": {"__op": "Add", "objects": ["x", "y", "x"]}, "plain": {"__op": "Delete"}},
    )  # fmt: skip
    assert updated.status_code == 200, updated.text
    result = updated.json()
    assert result["n"] == 5
    assert result["a"] == [1, 2, 3]
    assert result["r"] == ["x", "y", "x"]
    removed = await app_a.request("PUT", f"/classes/OpTest/{object_id}", {"r": {"__op": "Remove", "objects": ["x"]}})
    assert removed.json()["r"] == ["y"]
    got = (await app_a.request("GET", f"/classes/OpTest/{object_id}")).json()
    assert "plain" not in got
    assert got["n"] == 5


async def test_dotted_keys_update_inside_objects(app_a: ParseApp):
    created = (await app_a.request("POST", "/classes/Stats", {"stats": {"wins": 1, "name": "a"}}, master=True)).json()
    object_id = created["objectId"]
    await app_a.request(
        "PUT", f"/classes/Stats/{object_id}", {"stats.wins": {"__op": "Increment", "amount": 2}, "stats.name": "b"}
    )
    got = (await app_a.request("GET", f"/classes/Stats/{object_id}")).json()
    assert got["stats"] == {"wins": 3, "name": "b"}


async def test_required_fields_and_defaults_from_the_schema(app_a: ParseApp):
    from hangar.datastore.models import SchemaClass

    await app_a.request("POST", "/classes/Pref", {"theme": "dark"}, master=True)
    schema = await SchemaClass.objects.aget(app=app_a.tenant.app, class_name="Pref")
    schema.fields = {
        **schema.fields,
        "pop": {"type": "Number", "defaultValue": 5},
        "theme": {"type": "String", "required": True},
    }
    await schema.asave()
    from hangar.datastore.schema_registry import schema_changed

    await schema_changed(app_a.tenant.app.pk)
    missing = await app_a.request("POST", "/classes/Pref", {"other": 1}, master=True)
    assert missing.json() == {"code": 142, "error": "theme is required"}
    created = (await app_a.request("POST", "/classes/Pref", {"theme": "light"}, master=True)).json()
    assert created["pop"] == 5


async def test_get_rejects_unknown_parameters(app_a: ParseApp):
    created = (await app_a.request("POST", "/classes/Thing", {"a": 1}, master=True)).json()
    response = await app_a.request("GET", f"/classes/Thing/{created['objectId']}", params={"limit": 1})
    assert response.json() == {"code": 102, "error": "Improper encode of parameter"}
