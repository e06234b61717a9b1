"""``authData`` on the write and login side: every spelling of a write is validated alike, only
provider ids are stored, the anonymous id dies with the upgrade, and an empty ACL locks out
``authData`` logins too (security findings 2, 5 and 12)."""

from __future__ import annotations

import importlib
import json
from typing import Any

import pytest

from tests.datastore.conftest import ParseApp
from tests.identity.conftest import auth_settings, sign_up, sql
from tests.identity.test_oauth import CLIENT_ID, ISSUER, _token, jwks_server  # noqa: F401  (fixture)
from tests.identity.test_oauth_access_tokens import provider_api  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db(transaction=True)

VICTIM_ANON_ID = "5f0c3a52-0000-4000-8000-00000000beef"
GITHUB_ALICE = {"id": "1001", "access_token": "tok-alice"}  # provider_api answers id 1001 for this token
VIAS = ["users", "classes", "batch", "batch_transaction"]
# A transactional batch keeps its transaction open between items, so nothing in it may call a
# provider or hash a password (tests/identity/test_password_security.py): such items answer 119.
VIAS_THAT_PROVE = ["users", "classes", "batch"]


def _expected(code: int, via: str) -> int:
    """The code a refused link answers: a transactional batch refuses before asking a remote provider."""
    return 119 if via == "batch_transaction" and code == 251 else code


async def _write(app: ParseApp, via: str, method: str, path: str, body: Any, session: str | None) -> dict[str, Any]:
    """Send one write as a standalone request or a batch item; the success body or ``{code, error}``."""
    if via in {"users", "classes"}:
        if via == "classes":
            path = path.replace("/users", "/classes/_User", 1)
        return (await app.request(method, path, body, session=session)).json()
    batch = {"requests": [{"method": method, "path": f"/parse{path}", "body": body}]}
    if via == "batch_transaction":
        batch["transaction"] = True
    answer = (await app.request("POST", "/batch", batch, session=session)).json()
    if isinstance(answer, dict):
        return answer  # a failed transaction answers the item's error
    return answer[0].get("success", answer[0].get("error"))


async def _stored_auth_data(app: ParseApp, user_id: str) -> Any:
    rows = await sql(
        "SELECT data->'authData' FROM datastore_object WHERE app_id = %s AND class_name = '_User' AND object_id = %s",
        [app.tenant.app.pk, user_id],
    )
    return json.loads(rows[0][0]) if rows[0][0] is not None else None


async def _anonymous_login(app: ParseApp, anon_id: str) -> Any:
    return await app.request("POST", "/users", {"authData": {"anonymous": {"id": anon_id}}})


@pytest.fixture
async def github_app(app_a: ParseApp, provider_api: Any) -> ParseApp:  # noqa: F811
    await auth_settings(app_a.tenant, oauth_providers={"github": {}})
    return app_a


UNPROVEN_LINKS = [
    ({"authData.anonymous": {"id": VICTIM_ANON_ID}}, 208),
    ({"authData": {"anonymous": {"id": VICTIM_ANON_ID}}}, 208),
    ({"authData.github": {"id": "1001"}}, 251),  # GitHub ids are public: no token, no link
    ({"authData.github": {"id": "1001", "access_token": "tok-bob"}}, 251),  # a token of someone else
    ({"authData.github.id": "1001"}, 105),
    ({"authData.anonymous.id": VICTIM_ANON_ID}, 105),
    ({"authData": {"__op": "Delete"}}, 252),
    ({"authData": None}, 252),
    ({"authData.github": {"__op": "AddUnique", "objects": [{"id": "1001"}]}}, 252),
    ({"authData.github": {"__op": "Increment"}}, 252),
    ({"authData.no-such provider": {"id": "1001"}}, 252),
]


@pytest.mark.parametrize("via", VIAS)
async def test_no_write_form_links_an_unproven_provider_id(github_app: ParseApp, via: str) -> None:
    """Dotted keys, operations and batch items get the top-level form's validation, so an attacker
    can neither claim a victim's anonymous id nor pre-link a victim's public GitHub id."""
    victim = await _anonymous_login(github_app, VICTIM_ANON_ID)
    assert victim.status_code == 201
    mallory = await sign_up(github_app, "mallory")
    for body, code in UNPROVEN_LINKS:
        answer = await _write(github_app, via, "PUT", f"/users/{mallory['objectId']}", body, mallory["sessionToken"])
        assert answer.get("code") == _expected(code, via), (body, answer)
    assert await _stored_auth_data(github_app, mallory["objectId"]) is None
    # The victim's later logins land in the victim's own account, never in mallory's.
    assert (await _anonymous_login(github_app, VICTIM_ANON_ID)).json()["objectId"] == victim.json()["objectId"]
    github_login = await github_app.request("POST", "/users", {"authData": {"github": GITHUB_ALICE}})
    assert github_login.status_code == 201
    assert github_login.json()["objectId"] != mallory["objectId"]


@pytest.mark.parametrize("via", VIAS)
async def test_sign_up_forms_cannot_link_an_unproven_provider_id(github_app: ParseApp, via: str) -> None:
    await _anonymous_login(github_app, VICTIM_ANON_ID)
    credentials = {"username": "mallory", "password": "pw-secret-1"}
    for extra, code in [
        ({"authData.anonymous": {"id": VICTIM_ANON_ID}}, 208),
        ({"authData.github": {"id": "1001"}}, 251),
        ({"authData.github.id": "1001"}, 105),
    ]:
        answer = await _write(github_app, via, "POST", "/users", {**credentials, **extra}, None)
        assert answer.get("code") == _expected(code, via), (extra, answer)
    assert (
        await sql(
            "SELECT 1 FROM datastore_object WHERE app_id = %s AND data->>'username' = 'mallory'",
            [github_app.tenant.app.pk],
        )
        == []
    )


async def test_dotted_sign_up_is_the_same_login_as_the_top_level_form(github_app: ParseApp) -> None:
    created = await github_app.request("POST", "/users", {"authData.github": GITHUB_ALICE})
    assert created.status_code == 201, created.text
    again = await github_app.request("POST", "/users", {"authData": {"github": GITHUB_ALICE}})
    assert again.status_code == 200
    assert again.json()["objectId"] == created.json()["objectId"]


@pytest.mark.parametrize("via", VIAS_THAT_PROVE)
async def test_proven_link_and_unlink_work_in_every_form(github_app: ParseApp, via: str) -> None:
    ada = await sign_up(github_app, "ada")
    path, token = f"/users/{ada['objectId']}", ada["sessionToken"]
    linked = await _write(github_app, via, "PUT", path, {"authData.github": GITHUB_ALICE}, token)
    assert "updatedAt" in linked, linked
    assert await _stored_auth_data(github_app, ada["objectId"]) == {"github": {"id": "1001"}}
    login = await github_app.request("POST", "/users", {"authData": {"github": GITHUB_ALICE}})
    assert login.json()["objectId"] == ada["objectId"]
    for unlink in ({"authData.github": None}, {"authData.github": {"__op": "Delete"}}, {"authData": {"github": None}}):
        relink = await _write(github_app, via, "PUT", path, {"authData": {"github": GITHUB_ALICE}}, token)
        assert "updatedAt" in relink, relink
        assert "updatedAt" in await _write(github_app, via, "PUT", path, unlink, token), unlink
        assert await _stored_auth_data(github_app, ada["objectId"]) == {}
        fresh = await github_app.request("POST", "/users", {"authData": {"github": GITHUB_ALICE}})
        assert fresh.status_code == 201
        assert (await github_app.request("DELETE", f"/users/{fresh.json()['objectId']}", master=True)).json() == {}


@pytest.mark.parametrize("via", VIAS_THAT_PROVE)
async def test_upgrade_to_a_password_unlinks_the_anonymous_id(app_a: ParseApp, via: str) -> None:
    anon_id = "5f0c3a52-0000-4000-8000-0000000000a1"
    first = (await _anonymous_login(app_a, anon_id)).json()
    upgrade = {"username": "ada", "password": "pw-secret-1"}
    answer = await _write(app_a, via, "PUT", f"/users/{first['objectId']}", upgrade, first["sessionToken"])
    assert "updatedAt" in answer, answer
    assert "anonymous" not in (await _stored_auth_data(app_a, first["objectId"]) or {})
    # The old anonymous id now opens a fresh anonymous account, as in Parse, not the upgraded one.
    again = await _anonymous_login(app_a, anon_id)
    assert again.status_code == 201
    assert again.json()["objectId"] != first["objectId"]
    login = await app_a.request("POST", "/login", upgrade)
    assert login.json()["objectId"] == first["objectId"]


async def test_linking_a_provider_to_an_anonymous_user_unlinks_the_anonymous_id(github_app: ParseApp) -> None:
    anon_id = "5f0c3a52-0000-4000-8000-0000000000a2"
    first = (await _anonymous_login(github_app, anon_id)).json()
    link = {"authData": {"github": GITHUB_ALICE}}
    linked = await github_app.request("PUT", f"/users/{first['objectId']}", link, session=first["sessionToken"])
    assert linked.status_code == 200, linked.text
    assert await _stored_auth_data(github_app, first["objectId"]) == {"github": {"id": "1001"}}
    assert (await _anonymous_login(github_app, anon_id)).json()["objectId"] != first["objectId"]
    login = await github_app.request("POST", "/users", {"authData": {"github": GITHUB_ALICE}})
    assert login.json()["objectId"] == first["objectId"]


async def test_only_the_provider_id_is_stored_not_its_tokens(
    app_a: ParseApp,
    provider_api: Any,  # noqa: F811
    jwks_server: Any,  # noqa: F811
) -> None:
    url, key = jwks_server
    await auth_settings(
        app_a.tenant,
        oauth_providers={"github": {}, "oidc": {"issuer": ISSUER, "jwks_uri": url, "client_ids": [CLIENT_ID]}},
    )
    oidc = {"id": "sub-7", "id_token": _token(key, "sub-7")}
    for auth_data in ({"github": GITHUB_ALICE}, {"oidc": oidc}):
        created = await app_a.request("POST", "/users", {"authData": auth_data})
        assert created.status_code == 201, created.text
        provider, data = next(iter(auth_data.items()))
        assert await _stored_auth_data(app_a, created.json()["objectId"]) == {provider: {"id": data["id"]}}
        login = await app_a.request("POST", "/users", {"authData": auth_data})
        assert login.json()["authData"] == {provider: {"id": data["id"]}}


async def test_empty_acl_locks_out_auth_data_logins(github_app: ParseApp) -> None:
    anon_id = "5f0c3a52-0000-4000-8000-0000000000a3"
    anonymous = (await _anonymous_login(github_app, anon_id)).json()
    github = (await github_app.request("POST", "/users", {"authData": {"github": GITHUB_ALICE}})).json()
    for user in (anonymous, github):
        locked = await github_app.request("PUT", f"/users/{user['objectId']}", {"ACL": {}}, master=True)
        assert locked.status_code == 200, locked.text
    refused = {"code": 101, "error": "Invalid username/password."}
    assert (await _anonymous_login(github_app, anon_id)).json() == refused
    assert (await github_app.request("POST", "/users", {"authData": {"github": GITHUB_ALICE}})).json() == refused
    batch_item = {"method": "POST", "path": "/parse/users", "body": {"authData.anonymous": {"id": anon_id}}}
    batch = await github_app.request("POST", "/batch", {"requests": [batch_item]})
    assert batch.json() == [{"error": refused}]
    # Refused, not signed up again: the locked-out ids still belong to the locked-out users alone.
    owners = await sql(
        "SELECT count(*) FROM datastore_object WHERE class_name = '_User' AND app_id = %s "
        "AND (data->'authData'->'anonymous'->>'id' = %s OR data->'authData'->'github'->>'id' = '1001')",
        [github_app.tenant.app.pk, anon_id],
    )
    assert owners == [(2,)]


async def test_migration_strips_tokens_stored_before(github_app: ParseApp) -> None:
    """Users linked before ids-only storage lose their stored tokens; their logins keep working."""
    migration = importlib.import_module("hangar.datastore.migrations.0009_authdata_strip_provider_tokens")
    created = (await github_app.request("POST", "/users", {"authData": {"github": GITHUB_ALICE}})).json()
    old_style = {"github": GITHUB_ALICE, "anonymous": {"id": "a-1", "extra": "x"}, "gone": None}
    await sql(
        "UPDATE datastore_object SET data = jsonb_set(data, '{authData}', %s::jsonb) WHERE app_id = %s "
        "AND class_name = '_User' AND object_id = %s",
        [json.dumps(old_style), github_app.tenant.app.pk, created["objectId"]],
    )
    await sql(migration.FORWARD)
    stored = await _stored_auth_data(github_app, created["objectId"])
    assert stored == {"github": {"id": "1001"}, "anonymous": {"id": "a-1"}, "gone": None}
    login = await github_app.request("POST", "/users", {"authData": {"github": GITHUB_ALICE}})
    assert login.json()["objectId"] == created["objectId"]


async def test_concurrent_first_links_of_one_provider_id_make_one_user(app_a: ParseApp) -> None:
    """The read-then-write link check races; the unique index (datastore 0011) decides: one user, others 208."""
    import asyncio

    anon_id = "5f0c3a52-0000-4000-8000-00000000race"
    answers = await asyncio.gather(*(_anonymous_login(app_a, anon_id) for _ in range(8)))
    users = {answer.json()["objectId"] for answer in answers if answer.status_code in (200, 201)}
    refused = [answer.json()["code"] for answer in answers if answer.status_code == 400]
    assert len(users) == 1
    assert set(refused) <= {208}
    assert len(refused) + sum(answer.status_code in (200, 201) for answer in answers) == 8  # nothing else
    [(count,)] = await sql(
        "SELECT count(*) FROM datastore_object WHERE app_id = %s AND class_name = '_User' "
        "AND data->'authData'->'anonymous'->>'id' = %s",
        [app_a.tenant.app.pk, anon_id],
    )
    assert count == 1


async def test_an_oversized_anonymous_id_is_refused(app_a: ParseApp) -> None:
    response = await _anonymous_login(app_a, "a" * 1025)
    assert response.status_code == 400
    assert response.json()["code"] == 250
    [(count,)] = await sql(
        "SELECT count(*) FROM datastore_object WHERE app_id = %s AND class_name = '_User'", [app_a.tenant.app.pk]
    )
    assert count == 0


async def test_migration_keeps_the_oldest_link_of_a_duplicated_provider_id(app_a: ParseApp) -> None:
    migration = importlib.import_module("hangar.datastore.migrations.0011_user_auth_data_unique")
    first = (await _anonymous_login(app_a, "dup-1")).json()["objectId"]
    second = (await sign_up(app_a, "bob"))["objectId"]
    index = migration._index_name("anonymous")
    await sql(f"DROP INDEX {index}")
    try:
        await sql(
            "UPDATE datastore_object SET data = jsonb_set(data, '{authData}', %s::jsonb) WHERE app_id = %s "
            "AND class_name = '_User' AND object_id = %s",
            [json.dumps({"anonymous": {"id": "dup-1"}}), app_a.tenant.app.pk, second],
        )
    finally:
        await sql(
            migration._unlink_sql("anonymous") + f"CREATE UNIQUE INDEX {index} ON datastore_object "
            "(app_id, (data->'authData'->'anonymous'->>'id')) WHERE class_name = '_User'"
        )
    assert await _stored_auth_data(app_a, first) == {"anonymous": {"id": "dup-1"}}
    assert await _stored_auth_data(app_a, second) == {}
    login = await _anonymous_login(app_a, "dup-1")
    assert login.json()["objectId"] == first
