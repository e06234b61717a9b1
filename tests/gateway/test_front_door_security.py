"""The front door under anonymous pressure: keyless floods, made-up app ids, purged sessions, batch items."""

from __future__ import annotations

import secrets

import httpx
import pytest
from asgiref.sync import async_to_sync

from hangar.admission import registry as app_registry
from hangar.caller import Caller
from hangar.datastore.schemas import class_purge
from hangar.invalidation import publish_app_changed
from tenants.models import App
from tests.conftest import Tenant
from tests.datastore.conftest import ParseApp, insert_user_with_session

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def app_a(parse_client: httpx.AsyncClient, tenant_a: Tenant) -> ParseApp:
    return ParseApp(parse_client, tenant_a)


async def _set_rate_limit(app: App, rps: int) -> None:
    await App.objects.filter(pk=app.pk).aupdate(rate_limit_rps=rps)
    publish_app_changed(app.application_id)


@pytest.mark.parametrize(
    "credentials",
    [{}, {"X-Parse-REST-API-Key": "wrong"}, {"X-Parse-Master-Key": "wrong"}],
    ids=["no-key", "wrong-rest-key", "wrong-master-key"],
)
async def test_keyless_flood_does_not_spend_the_apps_limit(
    parse_client: httpx.AsyncClient, tenant_a: Tenant, credentials: dict[str, str]
):
    """The app id is public; requests without its key never make its keyed clients wait."""
    await _set_rate_limit(tenant_a.app, 3)
    headers = {"X-Parse-Application-Id": tenant_a.application_id, **credentials}
    for _ in range(20):
        refused = await parse_client.get("/parse/classes/Todo", headers=headers)
        assert refused.status_code == 403
    keyed = await parse_client.get("/parse/classes/Todo", headers=tenant_a.parse_headers("master"))
    assert keyed.status_code == 200, keyed.text


async def test_file_downloads_by_url_do_not_spend_the_apps_limit(parse_client: httpx.AsyncClient, tenant_a: Tenant):
    await _set_rate_limit(tenant_a.app, 3)
    for _ in range(12):
        missing = await parse_client.get(f"/parse/files/{tenant_a.application_id}/nothing.txt")
        assert missing.status_code == 404
    keyed = await parse_client.get("/parse/serverInfo", headers=tenant_a.parse_headers("master"))
    assert keyed.status_code == 200


async def test_keyless_requests_are_limited_per_address(parse_client: httpx.AsyncClient, tenant_a: Tenant, settings):
    settings.HANGAR_ANONYMOUS_RPS_PER_ADDRESS = 3
    headers = {"X-Parse-Application-Id": tenant_a.application_id}
    statuses = [(await parse_client.get("/parse/classes/Todo", headers=headers)).status_code for _ in range(12)]
    assert set(statuses) == {403, 429}
    assert statuses.count(403) <= 6  # at most two one-second windows of 3
    downloads = [
        (await parse_client.get(f"/parse/files/{tenant_a.application_id}/x.txt")).status_code for _ in range(12)
    ]
    assert 429 in downloads
    # The app's own clients are untouched.
    assert (await parse_client.get("/parse/serverInfo", headers=tenant_a.parse_headers("master"))).status_code == 200


@pytest.fixture
def app_loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every application id the registry looks up in PostgreSQL."""
    loads: list[str] = []
    real_load = app_registry._load

    async def counting_load(application_id: str, version: bytes | None) -> app_registry.AppRecord | None:
        loads.append(application_id)
        return await real_load(application_id, version)

    monkeypatch.setattr(app_registry, "_load", counting_load)
    app_registry.app_cache_clear()
    return loads


async def test_an_unknown_app_id_is_looked_up_once(parse_client: httpx.AsyncClient, app_loads: list[str]):
    headers = {"X-Parse-Application-Id": "no-such-app", "X-Parse-REST-API-Key": "k"}
    for _ in range(20):
        assert (await parse_client.get("/parse/classes/Todo", headers=headers)).status_code == 403
    download = await parse_client.get("/parse/files/no-such-app/x.txt")
    assert (download.status_code, download.json()["code"]) == (403, 119)
    assert app_loads == ["no-such-app"]
    overlong = {"X-Parse-Application-Id": "x" * 5000, "X-Parse-REST-API-Key": "k"}
    assert (await parse_client.get("/parse/classes/Todo", headers=overlong)).status_code == 403
    assert app_loads == ["no-such-app"]  # longer than any application id: not even looked up


async def test_made_up_app_ids_are_limited_per_address(
    parse_client: httpx.AsyncClient, tenant_a: Tenant, app_loads: list[str], settings
):
    settings.HANGAR_ANONYMOUS_RPS_PER_ADDRESS = 5
    assert (await parse_client.get("/parse/serverInfo", headers=tenant_a.parse_headers("master"))).status_code == 200
    statuses = []
    for _ in range(30):
        headers = {"X-Parse-Application-Id": secrets.token_hex(8), "X-Parse-REST-API-Key": "k"}
        statuses.append((await parse_client.get("/parse/classes/Todo", headers=headers)).status_code)
    assert set(statuses) == {403, 429}
    assert len(app_loads) <= 1 + 10  # the real app, and at most two one-second windows of 5 made-up ids
    # The real app's clients are untouched: the flood counted against the address.
    assert (await parse_client.get("/parse/serverInfo", headers=tenant_a.parse_headers("master"))).status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "files/{app_id}/x.txt"), ("GET", "files/{app_id}/metadata/x.txt"), ("DELETE", "files/x.txt"),
     ("POST", "files/x.txt")],
)  # fmt: skip
async def test_batch_items_cannot_reach_files(app_a: ParseApp, method: str, path: str):
    """Files are not batchable (Parse Server's batch reaches its API routers only): 107, never a 500."""
    sub_path = "/parse/" + path.format(app_id=app_a.tenant.application_id)
    item = {"method": method, "path": sub_path, "body": {"base64": "aGk="}}
    answer = await app_a.request("POST", "/batch", {"requests": [item]}, master=True)
    assert answer.status_code == 200, answer.text
    assert answer.json()[0]["error"]["code"] == 107
    transactional = await app_a.request("POST", "/batch", {"requests": [item], "transaction": True}, master=True)
    assert (transactional.status_code, transactional.json()["code"]) == (400, 107)


def test_purging_sessions_revokes_them_in_every_process(live_server, tenant_a: Tenant):
    _, token = insert_user_with_session(tenant_a, "ada")
    url = f"{live_server.url}/parse/users/me"
    headers = {**tenant_a.parse_headers(), "X-Parse-Session-Token": token}
    assert httpx.get(url, headers=headers).status_code == 200  # the server now caches the session
    async_to_sync(class_purge)(caller=Caller(app_pk=tenant_a.app.pk, is_master=True), class_name="_Session")
    revoked = httpx.get(url, headers=headers)
    assert (revoked.status_code, revoked.json()["code"]) == (400, 209)


@pytest.mark.parametrize("context", ["[1]", "not json", '"text"', "1", "null"])
async def test_a_malformed_cloud_context_header_is_refused(app_a: ParseApp, context: str):
    headers = {**app_a.headers(master=True), "X-Parse-Cloud-Context": context}
    refused = await app_a.client.post("/parse/classes/Todo", json={"title": "x"}, headers=headers)
    assert refused.status_code == 400
    assert refused.json() == {"code": 107, "error": "Invalid object for context."}
    assert (await app_a.request("GET", "/classes/Todo", master=True)).json()["results"] == []
    good = {**app_a.headers(master=True), "X-Parse-Cloud-Context": '{"source": "test"}'}
    assert (await app_a.client.post("/parse/classes/Todo", json={"title": "x"}, headers=good)).status_code == 201
