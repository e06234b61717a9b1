"""Sign-up, login, the current user and user routes (reference §10.1-§10.5)."""

from __future__ import annotations

import re
import secrets

import pytest

from tests.datastore.conftest import ParseApp
from tests.identity.conftest import sign_up, sql, user_fields_declare

pytestmark = pytest.mark.django_db(transaction=True)
TOKEN = re.compile(r"^r:[0-9a-f]{32}$")


async def test_sign_up_returns_a_session_and_stores_no_plain_password(app_a: ParseApp) -> None:
    await user_fields_declare(app_a, age="Number")
    response = await app_a.request(
        "POST", "/users", {"username": "ada", "password": "pw-secret-1", "email": "A@x.com", "age": 3}
    )
    assert response.status_code == 201
    body = response.json()
    assert TOKEN.match(body["sessionToken"])
    assert len(body["objectId"]) == 10
    assert body["createdAt"].endswith("Z")
    assert response.headers["location"].endswith(f"/users/{body['objectId']}")
    [(data, readers, writers)] = await sql(
        "SELECT data::text, _rperm, _wperm FROM datastore_object WHERE object_id = %s", [body["objectId"]]
    )
    [(session,)] = await sql(
        "SELECT data::text FROM datastore_object WHERE class_name = '_Session' AND app_id = %s", [app_a.tenant.app.pk]
    )
    assert "pw-secret-1" not in data
    assert "$argon2id$" in data
    assert readers == [body["objectId"]]
    assert writers == [body["objectId"]]
    assert body["sessionToken"] not in session
    assert '"signup"' in session
    assert '"expiresAt"' in session


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"password": "x"}, 200),
        ({"username": "", "password": "x"}, 200),
        ({"username": "u"}, 201),
        ({"username": "u", "password": ""}, 201),
        ({"username": "u", "password": "x", "email": "nope"}, 125),
        ({"username": "u", "password": "x", "emailVerified": True}, 119),
    ],
)
async def test_sign_up_errors(app_a: ParseApp, body: dict, code: int) -> None:
    response = await app_a.request("POST", "/users", body)
    assert response.status_code == 400
    assert response.json()["code"] == code


async def test_username_and_email_are_unique_email_case_insensitively(app_a: ParseApp) -> None:
    await sign_up(app_a, "ada", email="ada@x.com")
    taken = await app_a.request("POST", "/users", {"username": "ada", "password": "p"})
    assert taken.json() == {"code": 202, "error": "Account already exists for this username."}
    email = await app_a.request("POST", "/users", {"username": "bob", "password": "p", "email": "ADA@X.com"})
    assert email.json() == {"code": 203, "error": "Account already exists for this email address."}
    via_classes = await app_a.request("POST", "/classes/_User", {"username": "ada", "password": "p"})
    assert via_classes.json()["code"] == 202


async def test_the_database_enforces_uniqueness_too(app_a: ParseApp) -> None:
    """Two concurrent sign-ups both pass the check; the unique index stops the second."""
    from hangar.identity import user_rules

    original = user_rules._check_unique

    async def no_check(*args, **kwargs) -> None:
        return None

    await sign_up(app_a, "ada", email="a@x.com")
    user_rules._check_unique = no_check
    try:
        response = await app_a.request("POST", "/users", {"username": "b", "password": "p", "email": "A@x.com"})
    finally:
        user_rules._check_unique = original
    assert response.json()["code"] == 203


async def test_log_in_with_post_and_get(app_a: ParseApp) -> None:
    await user_fields_declare(app_a, phone="String")
    user = await sign_up(app_a, "ada", email="ada@x.com", phone="1")
    post = await app_a.request("POST", "/login", {"username": "ada", "password": "pw-secret-1"})
    assert post.status_code == 200
    body = post.json()
    assert body["objectId"] == user["objectId"]
    assert body["email"] == "ada@x.com"
    assert body["phone"] == "1"
    assert TOKEN.match(body["sessionToken"])
    assert body["sessionToken"] != user["sessionToken"]
    assert "password" not in body
    assert not any(k.startswith("_") for k in body)
    assert body["ACL"] == {user["objectId"]: {"read": True, "write": True}}
    get = await app_a.request("GET", "/login", params={"username": "ada", "password": "pw-secret-1"})
    assert get.status_code == 200
    assert get.json()["objectId"] == user["objectId"]
    by_email = await app_a.request("POST", "/login", {"email": "ADA@x.com", "password": "pw-secret-1"})
    assert by_email.status_code == 200


async def test_wrong_password_and_unknown_user_look_the_same(app_a: ParseApp) -> None:
    await sign_up(app_a, "ada")
    wrong = await app_a.request("POST", "/login", {"username": "ada", "password": "nope"})
    unknown = await app_a.request("POST", "/login", {"username": "zed", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.json() == unknown.json() == {"code": 101, "error": "Invalid username/password."}
    missing = await app_a.request("POST", "/login", {"password": "x"})
    assert missing.json() == {"code": 200, "error": "username/email is required."}
    no_password = await app_a.request("POST", "/login", {"username": "ada"})
    assert no_password.json() == {"code": 201, "error": "password is required."}


async def test_me_logout_and_revoked_token(app_a: ParseApp) -> None:
    user = await sign_up(app_a, "ada", email="ada@x.com")
    token = user["sessionToken"]
    me = await app_a.request("GET", "/users/me", session=token)
    assert me.status_code == 200
    body = me.json()
    assert body["__type"] == "Object"
    assert body["className"] == "_User"
    assert body["sessionToken"] == token
    assert body["email"] == "ada@x.com"
    assert (await app_a.request("GET", "/users/me")).json()["code"] == 209
    assert (await app_a.request("POST", "/logout", session=token)).json() == {}
    gone = await app_a.request("GET", "/users/me", session=token)
    assert gone.json() == {"code": 209, "error": "Invalid session token"}
    assert (await app_a.request("POST", "/logout")).json() == {}


async def test_only_the_user_may_change_or_delete_themself(app_a: ParseApp) -> None:
    await user_fields_declare(app_a, age="Number")
    ada = await sign_up(app_a, "ada")
    ben = await sign_up(app_a, "ben")
    path = f"/users/{ada['objectId']}"
    anonymous = await app_a.request("PUT", path, {"age": 1})
    assert anonymous.json() == {"code": 206, "error": f"Cannot modify user {ada['objectId']}."}
    other = await app_a.request("PUT", path, {"age": 1}, session=ben["sessionToken"])
    assert other.json() == {"code": 206, "error": "Insufficient auth."}
    other_classes = await app_a.request(
        "PUT", f"/classes/_User/{ada['objectId']}", {"age": 1}, session=ben["sessionToken"]
    )
    assert other_classes.json()["code"] == 206
    own = await app_a.request("PUT", path, {"age": 1}, session=ada["sessionToken"])
    assert own.status_code == 200
    assert (await app_a.request("DELETE", path)).json()["code"] == 206
    assert (await app_a.request("DELETE", path, session=ben["sessionToken"])).status_code == 404
    assert (await app_a.request("PUT", path, {"age": 2}, master=True)).status_code == 200
    assert (await app_a.request("DELETE", path, session=ada["sessionToken"])).json() == {}
    assert (await app_a.request("GET", "/users/me", session=ada["sessionToken"])).json()["code"] == 209


async def test_other_users_are_private_and_secrets_never_leak(app_a: ParseApp) -> None:
    ada = await sign_up(app_a, "ada", email="ada@x.com")
    ben = await sign_up(app_a, "ben")
    other = await app_a.request("GET", f"/users/{ada['objectId']}", session=ben["sessionToken"])
    assert other.status_code == 404
    own = await app_a.request("GET", f"/users/{ada['objectId']}", session=ada["sessionToken"])
    assert own.json()["sessionToken"] == ada["sessionToken"]
    assert own.json()["email"] == "ada@x.com"
    listed = (await app_a.request("GET", "/users", master=True)).json()["results"]
    assert {u["username"] for u in listed} == {"ada", "ben"}
    assert all(
        "password" not in u and "sessionToken" not in u and not any(k.startswith("_") for k in u) for u in listed
    )
    mine = (await app_a.request("GET", "/users", session=ben["sessionToken"])).json()["results"]
    assert [u["username"] for u in mine] == ["ben"]


async def test_password_change_revokes_sessions_and_returns_a_new_token(app_a: ParseApp) -> None:
    ada = await sign_up(app_a, "ada")
    second = (await app_a.request("POST", "/login", {"username": "ada", "password": "pw-secret-1"})).json()[
        "sessionToken"
    ]
    changed = await app_a.request(
        "PUT", f"/users/{ada['objectId']}", {"password": "new-pass-2"}, session=ada["sessionToken"]
    )
    assert changed.status_code == 200
    fresh = changed.json()["sessionToken"]
    assert TOKEN.match(fresh)
    for old in (ada["sessionToken"], second):
        assert (await app_a.request("GET", "/users/me", session=old)).json()["code"] == 209
    assert (await app_a.request("GET", "/users/me", session=fresh)).status_code == 200
    assert (await app_a.request("POST", "/login", {"username": "ada", "password": "pw-secret-1"})).json()["code"] == 101
    assert (await app_a.request("POST", "/login", {"username": "ada", "password": "new-pass-2"})).status_code == 200


async def test_classes_user_write_path_hashes_the_password(app_a: ParseApp) -> None:
    created = await app_a.request("POST", "/classes/_User", {"username": "ada", "password": "pw-secret-1"})
    assert created.status_code == 201
    assert TOKEN.match(created.json()["sessionToken"])
    [(data,)] = await sql("SELECT data::text FROM datastore_object WHERE object_id = %s", [created.json()["objectId"]])
    assert "pw-secret-1" not in data
    login = await app_a.request("POST", "/login", {"username": "ada", "password": "pw-secret-1"})
    assert login.status_code == 200


async def test_verify_password_and_login_as(app_a: ParseApp) -> None:
    ada = await sign_up(app_a, "ada")
    verified = await app_a.request("GET", "/verifyPassword", params={"username": "ada", "password": "pw-secret-1"})
    assert verified.status_code == 200
    assert "sessionToken" not in verified.json()
    bad = await app_a.request("POST", "/verifyPassword", {"username": "ada", "password": "x"})
    assert bad.json()["code"] == 101
    assert (await app_a.request("POST", "/loginAs", {"userId": ada["objectId"]})).json()["code"] == 119
    assert (await app_a.request("POST", "/loginAs", {}, master=True)).json()["code"] == 162
    assert (await app_a.request("POST", "/loginAs", {"userId": "nobody"}, master=True)).json() == {
        "code": 101,
        "error": "user not found",
    }
    as_ada = await app_a.request("POST", "/loginAs", {"userId": ada["objectId"]}, master=True)
    token = as_ada.json()["sessionToken"]
    assert (await app_a.request("GET", "/users/me", session=token)).json()["objectId"] == ada["objectId"]


async def test_imported_parse_server_bcrypt_hash_logs_in_and_is_rehashed(app_a: ParseApp) -> None:
    import bcrypt

    ada = await sign_up(app_a, "ada")
    legacy = bcrypt.hashpw(b"from-parse", bcrypt.gensalt(10)).decode()
    await sql(
        "UPDATE datastore_object SET data = jsonb_set(data, '{_hashed_password}', to_jsonb(%s::text)) "
        "WHERE object_id = %s",
        [legacy, ada["objectId"]],
    )
    assert (await app_a.request("POST", "/login", {"username": "ada", "password": "from-parse"})).status_code == 200
    [(stored,)] = await sql(
        "SELECT data->>'_hashed_password' FROM datastore_object WHERE object_id = %s", [ada["objectId"]]
    )
    assert stored.startswith("$argon2id$")
    assert (await app_a.request("POST", "/login", {"username": "ada", "password": "from-parse"})).status_code == 200


async def test_cross_tenant_tokens_and_users(app_a: ParseApp, app_b: ParseApp) -> None:
    ada = await sign_up(app_a, "ada")
    assert (await app_b.request("GET", "/users/me", session=ada["sessionToken"])).json()["code"] == 209
    assert (await app_b.request("GET", "/classes/Anything", session=ada["sessionToken"])).json()["code"] == 209
    assert (await app_b.request("POST", "/login", {"username": "ada", "password": "pw-secret-1"})).json()["code"] == 101
    assert (await app_b.request("GET", "/users", master=True)).json()["results"] == []
    assert (await app_b.request("GET", f"/users/{ada['objectId']}", master=True)).status_code == 404
    # The same username is free in another app.
    await sign_up(app_b, "ada")


@pytest.mark.parametrize("field", ["username", "email"])
async def test_an_oversized_username_or_email_is_refused_cleanly(app_a: ParseApp, field: str) -> None:
    # Both are indexed (unique per app); a value beyond a btree entry must be a client error, not a 500.
    huge = secrets.token_hex(2000) + ("@x.com" if field == "email" else "")  # incompressible
    body = {"username": "ada", "password": "pw-secret-1", field: huge}
    response = await app_a.request("POST", "/users", body)
    assert response.status_code == 400
    assert response.json()["code"] == (125 if field == "email" else 200)
    user = await sign_up(app_a, "bob")
    response = await app_a.request("PUT", f"/users/{user['objectId']}", {field: huge}, session=user["sessionToken"])
    assert response.status_code == 400
    assert (
        await sql(
            "SELECT count(*) FROM datastore_object WHERE class_name = '_User' AND app_id = %s", [app_a.tenant.app.pk]
        )
    )[0][0] == 1


async def test_a_value_too_large_for_a_developer_index_is_refused_cleanly(app_a: ParseApp) -> None:
    created = await app_a.request(
        "POST",
        "/schemas/Note",
        {"className": "Note", "fields": {"title": {"type": "String"}}, "indexes": {"by_title": {"title": 1}}},
        master=True,
    )
    assert created.status_code == 200, created.text
    response = await app_a.request("POST", "/classes/Note", {"title": secrets.token_hex(4000)})
    assert response.status_code == 400
    assert response.json()["code"] == 116
    assert (await app_a.request("GET", "/classes/Note", master=True)).json()["results"] == []
