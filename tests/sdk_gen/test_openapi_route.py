"""``GET /parse/openapi.json``: the app's document with any of its keys; what a client key may not use stays out."""

from __future__ import annotations

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

from tests.cloudcode.conftest import deploy_async
from tests.datastore.conftest import ParseApp
from tests.sdk_gen.conftest import BUNDLE

pytestmark = pytest.mark.django_db(transaction=True)

LOCKED = {op: {} for op in ("find", "count", "get", "create", "update", "delete", "addField")}


async def _schema(app: ParseApp, class_name: str, fields: dict[str, object], clp: dict[str, object] | None = None):
    body: dict[str, object] = {"className": class_name, "fields": fields}
    if clp is not None:
        body["classLevelPermissions"] = clp
    response = await app.request("POST", f"/schemas/{class_name}", body, master=True)
    assert response.status_code == 200, response.text


async def _document(app: ParseApp, key: str) -> dict[str, object]:
    response = await app.client.get("/parse/openapi.json", headers=app.tenant.parse_headers(key))
    assert response.status_code == 200, response.text
    return response.json()


async def test_client_key_gets_a_valid_document_with_typed_functions(app_a: ParseApp):
    await _schema(app_a, "Post", {"title": {"type": "String"}, "votes": {"type": "Number"}})
    await deploy_async(app_a.tenant, BUNDLE)
    document = await _document(app_a, "client")
    validate(document, cls=OpenAPIV31SpecValidator)
    assert document["components"]["schemas"]["Post"]["properties"]["votes"] == {"type": "number"}
    body = document["paths"]["/functions/total"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"] == {"count": {"type": "integer"}, "price": {"type": "number"}}


async def test_locked_classes_and_protected_fields_stay_out_for_clients(app_a: ParseApp):
    await _schema(app_a, "Payroll", {"salary": {"type": "Number"}}, LOCKED)
    public = {op: {"*": True} for op in ("find", "count", "get", "create", "update", "delete", "addField")}
    await _schema(
        app_a, "Profile", {"bio": {"type": "String"}, "ssn": {"type": "String"}},
        {**public, "protectedFields": {"*": ["ssn"]}},
    )  # fmt: skip
    for key in ("client", "rest", "javascript"):
        text = str(await _document(app_a, key))
        assert "Payroll" not in text
        assert "salary" not in text
        assert "ssn" not in text
        assert "bio" in text
    master = await _document(app_a, "master")
    assert "Payroll" in master["components"]["schemas"]
    assert "ssn" in master["components"]["schemas"]["Profile"]["properties"]


async def test_another_apps_key_or_no_key_gets_nothing(app_a: ParseApp, app_b: ParseApp):
    await _schema(app_a, "AliceOnly", {"x": {"type": "String"}})
    foreign = {"X-Parse-Application-Id": app_a.tenant.application_id, "X-Parse-Client-Key": app_b.tenant.keys["client"]}
    for headers in (foreign, {"X-Parse-Application-Id": app_a.tenant.application_id}, {}):
        response = await app_a.client.get("/parse/openapi.json", headers=headers)
        assert response.status_code in {401, 403}, response.text
        assert "AliceOnly" not in response.text
    own = await _document(app_b, "client")
    assert "AliceOnly" not in str(own)
