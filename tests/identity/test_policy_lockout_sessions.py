"""Password policy, account lockout, login rate limits, sessions and their revocation across processes."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import LiveServer, Tenant
from tests.datastore.conftest import ParseApp
from tests.identity.conftest import auth_settings, sign_up

pytestmark = pytest.mark.django_db(transaction=True)
LOCKED = "Your account is locked due to multiple failed login attempts. Please try again after 5 minute(s)"


async def test_password_policy(app_a: ParseApp) -> None:
    await auth_settings(app_a.tenant, password_min_length=8, password_pattern=r"\d", password_disallow_username=True)
    short = await app_a.request("POST", "/users", {"username": "ada", "password": "a1"})
    assert short.json() == {"code": 142, "error": "Password does not meet the Password Policy requirements."}
    no_digit = await app_a.request("POST", "/users", {"username": "ada", "password": "abcdefghij"})
    assert no_digit.json()["code"] == 142
    with_name = await app_a.request("POST", "/users", {"username": "ada", "password": "ada-12345678"})
    assert with_name.json() == {"code": 142, "error": "Password cannot contain your username."}
    assert (await app_a.request("POST", "/users", {"username": "ada", "password": "secret-123"})).status_code == 201


async def test_password_history(app_a: ParseApp) -> None:
    await auth_settings(app_a.tenant, password_history=2)
    ada = await sign_up(app_a, "ada", password="first-1")
    path, token = f"/users/{ada['objectId']}", ada["sessionToken"]
    token = (await app_a.request("PUT", path, {"password": "second-2"}, session=token)).json()["sessionToken"]
    again = await app_a.request("PUT", path, {"password": "first-1"}, session=token)
    assert again.json() == {"code": 142, "error": "New password should not be the same as last 2 passwords."}
    assert (await app_a.request("PUT", path, {"password": "third-3"}, session=token)).status_code == 200


async def test_account_lockout(app_a: ParseApp) -> None:
    await auth_settings(app_a.tenant, lockout_threshold=3, lockout_minutes=5)
    await sign_up(app_a, "ada")
    answers = [await app_a.request("POST", "/login", {"username": "ada", "password": "bad"}) for _ in range(3)]
    assert [a.json()["error"] for a in answers] == ["Invalid username/password.", "Invalid username/password.", LOCKED]
    right = await app_a.request("POST", "/login", {"username": "ada", "password": "pw-secret-1"})
    assert right.status_code == 404
    assert right.json() == {"code": 101, "error": LOCKED}


async def test_login_is_rate_limited_per_username(app_a: ParseApp, settings) -> None:
    from hangar.redis_async import get_redis

    settings.HANGAR_LOGIN_RATE_PER_USERNAME = 3
    redis = get_redis()
    stale = [key async for key in redis.scan_iter(f"hangar:loginrl:{app_a.tenant.app.pk}:*")]
    if stale:
        await redis.delete(*stale)  # app ids repeat across test databases; the counters must not
    await sign_up(app_a, "ada")
    statuses = [
        (await app_a.request("POST", "/login", {"username": "ada", "password": "x"})).status_code for _ in range(4)
    ]
    assert statuses == [404, 404, 404, 429]
    other = await app_a.request("POST", "/login", {"username": "ben", "password": "x"})
    assert other.status_code == 404


async def test_sessions_routes(app_a: ParseApp) -> None:
    ada = await sign_up(app_a, "ada")
    ben = await sign_up(app_a, "ben")
    me = await app_a.request("GET", "/sessions/me", session=ada["sessionToken"])
    body = me.json()
    assert body["sessionToken"] == ada["sessionToken"]
    assert body["user"]["objectId"] == ada["objectId"]
    assert body["createdWith"] == {"action": "signup", "authProvider": "password"}
    assert (await app_a.request("GET", "/sessions/me")).json() == {"code": 209, "error": "Session token required."}
    extra = await app_a.request("POST", "/sessions", {"device": "tv"}, session=ada["sessionToken"])
    assert extra.status_code == 201
    assert extra.json()["createdWith"] == {"action": "create"}
    mine = (await app_a.request("GET", "/sessions", session=ada["sessionToken"])).json()["results"]
    assert len(mine) == 2
    assert all(s["user"]["objectId"] == ada["objectId"] for s in mine)
    assert all("_session_token_hash" not in s for s in mine)
    classes = (await app_a.request("GET", "/classes/_Session", session=ben["sessionToken"])).json()["results"]
    assert [s["user"]["objectId"] for s in classes] == [ben["objectId"]]
    repoint = await app_a.request(
        "PUT", f"/sessions/{extra.json()['objectId']}",
        {"user": {"__type": "Pointer", "className": "_User", "objectId": ben["objectId"]}}, session=ada["sessionToken"],
    )  # fmt: skip
    assert repoint.json()["code"] == 105
    assert (
        await app_a.request("DELETE", f"/sessions/{extra.json()['objectId']}", session=ben["sessionToken"])
    ).status_code == 404
    assert (
        await app_a.request("DELETE", f"/sessions/{extra.json()['objectId']}", session=ada["sessionToken"])
    ).json() == {}
    assert (await app_a.request("GET", "/users/me", session=extra.json()["sessionToken"])).json()["code"] == 209
    upgraded = await app_a.request("POST", "/upgradeToRevocableSession", session=ada["sessionToken"])
    assert upgraded.json()["sessionToken"] == ada["sessionToken"]


async def test_anonymous_user_then_linked_login(app_a: ParseApp) -> None:
    auth = {"anonymous": {"id": "3bb2b2a6-0000-4000-8000-000000000001"}}
    first = await app_a.request("POST", "/users", {"authData": auth})
    assert first.status_code == 201
    user = first.json()
    assert len(user["username"]) == 25
    assert user["sessionToken"].startswith("r:")
    again = await app_a.request("POST", "/users", {"authData": auth})
    assert again.status_code == 200
    assert again.json()["objectId"] == user["objectId"]
    assert again.json()["authData"] == auth
    # Upgrade the anonymous user: give it a username and password, then log in with them.
    path = f"/users/{user['objectId']}"
    upgraded = await app_a.request(
        "PUT", path, {"username": "ada", "password": "pw-secret-1"}, session=user["sessionToken"]
    )
    assert upgraded.status_code == 200
    login = await app_a.request("POST", "/login", {"username": "ada", "password": "pw-secret-1"})
    assert login.json()["objectId"] == user["objectId"]
    # Link a second anonymous id, unlink the first.
    other = {"id": "3bb2b2a6-0000-4000-8000-000000000002"}
    token = login.json()["sessionToken"]
    assert (await app_a.request("PUT", path, {"authData": {"anonymous": other}}, session=token)).status_code == 200
    relogin = await app_a.request("POST", "/users", {"authData": {"anonymous": other}})
    assert relogin.status_code == 200
    assert relogin.json()["objectId"] == user["objectId"]
    ben = await sign_up(app_a, "ben")
    taken = await app_a.request(
        "PUT", f"/users/{ben['objectId']}", {"authData": {"anonymous": other}}, session=ben["sessionToken"]
    )
    assert taken.json() == {"code": 208, "error": "this auth is already used"}
    unsupported = await app_a.request("POST", "/users", {"authData": {"myspace": {"id": "1"}}})
    assert unsupported.json()["code"] == 252


async def test_cross_tenant_sessions_app_b_rejects_app_a_tokens(app_a: ParseApp, app_b: ParseApp) -> None:
    ada = await sign_up(app_a, "ada")
    assert (await app_b.request("GET", "/sessions/me", session=ada["sessionToken"])).json()["code"] == 209
    assert (await app_b.request("GET", "/sessions", master=True)).json()["results"] == []


def _get_me(server: LiveServer, tenant: Tenant, token: str) -> httpx.Response:
    headers = {**tenant.parse_headers(), "X-Parse-Session-Token": token}
    return httpx.get(f"{server.url}/parse/users/me", headers=headers, timeout=10)


@pytest.mark.parametrize("revoke", ["logout", "password"])
async def test_revocation_is_effective_at_once_in_another_process(
    live_server: LiveServer, app_a: ParseApp, revoke: str
) -> None:
    """The live server caches the session; a logout or password change here makes its next answer 209."""
    ada = await sign_up(app_a, "ada")
    token = ada["sessionToken"]
    assert _get_me(live_server, app_a.tenant, token).status_code == 200  # warms the other process's cache
    if revoke == "logout":
        await app_a.request("POST", "/logout", session=token)
    else:
        await app_a.request("PUT", f"/users/{ada['objectId']}", {"password": "changed-9"}, session=token)
    after = _get_me(live_server, app_a.tenant, token)
    assert after.status_code == 400
    assert after.json()["code"] == 209
