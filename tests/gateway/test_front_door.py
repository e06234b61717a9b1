"""The Parse front door: app and key resolution, error shapes, CORS, health."""

from __future__ import annotations

import base64

import orjson
import pytest

from tests.conftest import Tenant

pytestmark = pytest.mark.django_db(transaction=True)


async def test_health_answers_without_keys(parse_client):
    response = await parse_client.get("/parse/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize("key", ["rest", "client", "javascript", "dotnet", "master"])
async def test_each_key_of_the_app_is_accepted(parse_client, tenant_a: Tenant, key):
    # serverInfo needs the master key: a client key passes the key check and then hits that rule.
    response = await parse_client.get("/parse/serverInfo", headers=tenant_a.parse_headers(key))
    if key == "master":
        assert response.status_code == 200
        assert response.json()["parseServerVersion"]
    else:
        assert response.status_code == 403
        assert response.json() == {"error": "unauthorized: master key is required"}


async def test_wrong_key_is_unauthorized(parse_client, tenant_a: Tenant):
    headers = {"X-Parse-Application-Id": tenant_a.application_id, "X-Parse-REST-API-Key": "wrong"}
    response = await parse_client.get("/parse/serverInfo", headers=headers)
    assert response.status_code == 403
    assert response.json() == {"error": "unauthorized"}


async def test_missing_key_is_unauthorized(parse_client, tenant_a: Tenant):
    response = await parse_client.get("/parse/serverInfo", headers={"X-Parse-Application-Id": tenant_a.application_id})
    assert response.status_code == 403
    assert response.json() == {"error": "unauthorized"}


async def test_unknown_app_and_missing_app_id_are_unauthorized(parse_client, tenant_a: Tenant):
    unknown = await parse_client.get(
        "/parse/serverInfo", headers={"X-Parse-Application-Id": "nope", "X-Parse-Master-Key": tenant_a.keys["master"]}
    )
    missing = await parse_client.get("/parse/serverInfo", headers={"X-Parse-Master-Key": tenant_a.keys["master"]})
    assert (unknown.status_code, unknown.json()) == (403, {"error": "unauthorized"})
    assert (missing.status_code, missing.json()) == (403, {"error": "unauthorized"})


async def test_keys_of_another_app_are_rejected(parse_client, tenant_a: Tenant, tenant_b: Tenant):
    """App B's master key does not open app A."""
    headers = {"X-Parse-Application-Id": tenant_a.application_id, "X-Parse-Master-Key": tenant_b.keys["master"]}
    response = await parse_client.get("/parse/serverInfo", headers=headers)
    assert response.status_code == 403
    headers = {"X-Parse-Application-Id": tenant_a.application_id, "X-Parse-REST-API-Key": tenant_b.keys["rest"]}
    assert (await parse_client.get("/parse/serverInfo", headers=headers)).status_code == 403


async def test_js_sdk_text_plain_envelope_is_decoded(parse_client, tenant_a: Tenant):
    envelope = {
        "_method": "GET", "_ApplicationId": tenant_a.application_id, "_MasterKey": tenant_a.keys["master"],
        "_ClientVersion": "js8.6.2", "_InstallationId": "6d4f6b3e-0000-4000-8000-000000000000",
    }  # fmt: skip
    response = await parse_client.post(
        "/parse/serverInfo", content=orjson.dumps(envelope), headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 200
    assert "features" in response.json()


async def test_js_envelope_with_javascript_key_passes_key_check(parse_client, tenant_a: Tenant):
    envelope = {
        "_method": "GET",
        "_ApplicationId": tenant_a.application_id,
        "_JavaScriptKey": tenant_a.keys["javascript"],
    }
    response = await parse_client.post("/parse/serverInfo", content=orjson.dumps(envelope))
    assert response.json() == {"error": "unauthorized: master key is required"}
    envelope["_JavaScriptKey"] = "wrong"
    response = await parse_client.post("/parse/serverInfo", content=orjson.dumps(envelope))
    assert response.json() == {"error": "unauthorized"}


async def test_basic_auth_with_master_key(parse_client, tenant_a: Tenant):
    token = base64.b64encode(f"{tenant_a.application_id}:{tenant_a.keys['master']}".encode()).decode()
    response = await parse_client.get("/parse/serverInfo", headers={"Authorization": f"Basic {token}"})
    assert response.status_code == 200


async def test_malformed_json_answers_code_107(parse_client, tenant_a: Tenant):
    response = await parse_client.post(
        "/parse/classes/GameScore", content=b"{not json", headers=tenant_a.parse_headers()
    )
    assert response.status_code == 400
    assert response.json()["code"] == 107


async def test_unknown_route_answers_json_not_html(parse_client, tenant_a: Tenant):
    response = await parse_client.get("/parse/nowhere/at/all", headers=tenant_a.parse_headers())
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"] == "cannot route GET /nowhere/at/all"


async def test_cors_preflight_and_headers(parse_client, tenant_a: Tenant):
    preflight = await parse_client.options("/parse/classes/GameScore")
    assert preflight.status_code == 200
    assert preflight.text == "OK"
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "X-Parse-Installation-Id" in preflight.headers["access-control-allow-headers"]
    error = await parse_client.get("/parse/serverInfo")
    assert error.headers["access-control-allow-origin"] == "*"
    assert "X-Parse-Job-Status-Id" in error.headers["access-control-expose-headers"]


async def test_oversized_body_is_refused(parse_client, tenant_a: Tenant, settings):
    from hangar.asgi import parse_gateway

    parse_gateway.max_body = 1024
    try:
        response = await parse_client.post(
            "/parse/classes/GameScore", content=b'{"a":"' + b"x" * 2048 + b'"}', headers=tenant_a.parse_headers()
        )
    finally:
        parse_gateway.max_body = settings.HANGAR_MAX_REQUEST_BYTES
    assert response.status_code == 413
    assert response.json()["code"] == 116
