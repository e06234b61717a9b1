"""The OpenAPI 3.1 document and the spec it is made from (no server needed)."""

from __future__ import annotations

from openapi_spec_validator import OpenAPIV31SpecValidator, validate

from sdk_gen.changelog import schema_changes
from sdk_gen.openapi import openapi_document
from sdk_gen.spec import app_spec_build
from tests.sdk_gen.conftest import PLAYER_FIELDS, TEAM_FIELDS, USER_FIELDS

SCHEMAS = {
    "Team": TEAM_FIELDS,
    "Player": PLAYER_FIELDS,
    "_User": {"username": {"type": "String"}, "password": {"type": "String"}, "authData": {"type": "Object"},
              **USER_FIELDS},
    "_Session": {"sessionToken": {"type": "String"}},
    "Query": {"text": {"type": "String"}},
}  # fmt: skip
HANDLERS = {
    "functions": [
        {"name": "total", "params": {"price": "float", "count": "int"}, "returns": "float"},
        {"name": "free-form", "params": {}, "returns": "any"},
    ],
}


def _spec(schemas=SCHEMAS, handlers=HANDLERS):  # type: ignore[no-untyped-def]
    return app_spec_build(app_name="My App", application_id="app-id", schemas=schemas, handlers=handlers)


def test_document_validates_as_openapi_3_1_and_types_every_field():
    document = openapi_document(_spec(), server_url="http://127.0.0.1:1/parse", version="1.1.0")
    validate(document, cls=OpenAPIV31SpecValidator)  # raises on an invalid document
    assert document["openapi"] == "3.1.0"
    player = document["components"]["schemas"]["Player"]["properties"]
    assert player["score"] == {"type": "number"}
    assert player["born"] == {"$ref": "#/components/schemas/ParseDate"}
    assert player["team"]["oneOf"][1] == {"$ref": "#/components/schemas/Team"}
    assert player["fans"]["allOf"] == [{"$ref": "#/components/schemas/ParseRelation"}]
    assert player["home"] == {"$ref": "#/components/schemas/ParseGeoPoint"}
    assert document["components"]["schemas"]["Player"]["x-parse-required-on-create"] == ["name"]
    paths = document["paths"]
    assert {"/classes/Player", "/classes/Player/{objectId}", "/users", "/login", "/logout", "/users/me", "/batch",
            "/files/{name}", "/functions/total", "/functions/free-form"} <= set(paths)  # fmt: skip
    total = paths["/functions/total"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert total["properties"] == {"count": {"type": "integer"}, "price": {"type": "number"}}
    headers = {s["name"] for s in document["components"]["securitySchemes"].values()}
    assert headers == {"X-Parse-Application-Id", "X-Parse-Client-Key", "X-Parse-Master-Key", "X-Parse-Session-Token"}


def test_user_secrets_and_platform_classes_stay_out():
    spec = _spec()
    assert [c.class_name for c in spec.classes] == ["Player", "Query", "Team", "_User"]
    user = spec.class_named("_User")
    assert user is not None
    assert [f.name for f in user.fields] == ["nickname", "username"]
    # A class named like a runtime type gets a suffix in every SDK.
    assert spec.type_name_of("Query") == "QueryObject"
    assert [f.method_name for f in spec.functions] == ["free_form", "total"]


def test_schema_hash_follows_the_schema_only():
    same = app_spec_build(app_name="Renamed", application_id="other", schemas=SCHEMAS, handlers=HANDLERS)
    assert same.schema_hash == _spec().schema_hash
    changed = _spec(schemas={**SCHEMAS, "Team": {"name": {"type": "String"}, "city": {"type": "String"}}})
    assert changed.schema_hash != _spec().schema_hash


def test_changelog_names_each_change():
    old = _spec().schema_document()
    new_schemas = {**SCHEMAS, "Team": {"name": {"type": "Number"}}, "Coach": {"x": {"type": "String"}}}
    new_schemas.pop("Query")
    new = _spec(schemas=new_schemas, handlers={"functions": [{"name": "total", "params": {}, "returns": "str"}]})
    assert schema_changes(old, new.schema_document()) == [
        "class Coach added",
        "class Query removed",
        "Team.name changed from String to Number",
        "function free-form removed",
        "function total changed from (count: integer, price: number) -> number to () -> string",
    ]


def test_function_parameters_keep_their_declaration_order_when_the_bundle_recorded_it():
    """Java passes parameters by position: ``total(request, *, price, count)`` is ``total(double price, long count)``;
    a version deployed before the order was recorded keeps the order by name it always had."""
    declared = {"functions": [{"name": "total", "params": {"price": "float", "count": "int"},
                               "paramOrder": ["price", "count"], "returns": "float"}]}  # fmt: skip
    assert [p.name for p in _spec(handlers=declared).functions[0].params] == ["price", "count"]
    for order in (None, ["count"], ["price", "count", "extra"], "price,count"):
        entry = {**declared["functions"][0], "paramOrder": order}
        assert [p.name for p in _spec(handlers={"functions": [entry]}).functions[0].params] == ["count", "price"]
    from sdk_gen.languages.java import java_sources

    functions = java_sources(_spec(handlers=declared), version="1.1.0")
    text = next(t for path, t in functions.items() if path.endswith("/Functions.java"))
    assert "total(double price, long count)" in text


def test_the_bundle_records_the_declaration_order():
    from hangar_cloud import _registry

    def total(request, *, price: float, count: int, label: str) -> float:  # type: ignore[no-untyped-def]
        return price * count

    saved = dict(_registry.functions)
    try:
        _registry.functions.clear()
        _registry.functions["total"] = total
        entry = _registry.describe()["functions"][0]
    finally:
        _registry.functions.clear()
        _registry.functions.update(saved)
    assert entry["paramOrder"] == ["price", "count", "label"]
    assert entry["params"] == {"price": "float", "count": "int", "label": "str"}
