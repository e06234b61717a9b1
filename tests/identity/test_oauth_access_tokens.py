"""``authData`` by access token (GitHub, Facebook classic login) against a local fake of their
APIs, and the named OIDC providers' issuer defaults (Google, Apple) against the local JWKS."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.datastore.conftest import ParseApp
from tests.identity.conftest import auth_settings
from tests.identity.test_oauth import CLIENT_ID, _token, jwks_server  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db(transaction=True)

# token -> (user id, Facebook app id); anything else is a 401.
USERS = {"tok-alice": ("1001", "fb-app-1"), "tok-bob": ("1002", "fb-app-2")}


@pytest.fixture
def provider_api(settings: Any) -> Iterator[list[tuple[str, dict[str, str]]]]:
    """A local server speaking GitHub's ``GET /user`` and Facebook's ``GET /me``, ``GET /app``."""
    settings.HANGAR_EGRESS_ALLOW_PRIVATE = ["127.0.0.1/32"]  # egress refuses loopback unless allowed
    seen: list[tuple[str, dict[str, str]]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            seen.append((self.path, dict(self.headers)))
            token = None
            if url.path == "/github/user":
                auth = self.headers.get("Authorization", "")
                token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None
            elif url.path in ("/graph/me", "/graph/app"):
                token = query.get("access_token")
            user = USERS.get(token or "")
            if user is None:
                return self._reply(401, {"message": "Bad credentials"})
            if url.path == "/github/user":
                return self._reply(200, {"id": int(user[0]), "login": f"user{user[0]}"})
            if url.path == "/graph/me":
                return self._reply(200, {"id": user[0]})
            return self._reply(200, {"id": user[1], "name": "Some app"})

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    settings.HANGAR_GITHUB_API_URL = f"{base}/github"
    settings.HANGAR_FACEBOOK_GRAPH_URL = f"{base}/graph"
    yield seen
    server.shutdown()
    server.server_close()


async def _sign_up_then_log_in(app: ParseApp, auth_data: dict[str, Any]) -> None:
    created = await app.request("POST", "/users", {"authData": auth_data})
    assert created.status_code == 201, created.text
    login = await app.request("POST", "/users", {"authData": auth_data})
    assert login.status_code == 200, login.text
    assert login.json()["objectId"] == created.json()["objectId"]


async def _code(app: ParseApp, auth_data: dict[str, Any]) -> tuple[int, str]:
    response = await app.request("POST", "/users", {"authData": auth_data})
    return response.json()["code"], response.json()["error"]


async def test_github_access_token(app_a: ParseApp, provider_api: list[tuple[str, dict[str, str]]]) -> None:
    await auth_settings(app_a.tenant, oauth_providers={"github": {}})
    await _sign_up_then_log_in(app_a, {"github": {"id": "1001", "access_token": "tok-alice"}})
    path, headers = provider_api[0]
    assert path == "/github/user"
    assert headers["Authorization"] == "Bearer tok-alice"
    assert headers["Accept"] == "application/vnd.github+json"
    expected = (251, "GitHub auth is invalid for this user.")
    assert await _code(app_a, {"github": {"id": "1002", "access_token": "tok-alice"}}) == expected  # wrong id
    assert await _code(app_a, {"github": {"id": "1001", "access_token": "unknown"}}) == expected  # 401


async def test_github_unconfigured_is_unsupported(app_a: ParseApp, provider_api: list[Any]) -> None:
    assert (await _code(app_a, {"github": {"id": "1001", "access_token": "tok-alice"}}))[0] == 252
    assert provider_api == []


async def test_facebook_access_token(app_a: ParseApp, provider_api: list[tuple[str, dict[str, str]]]) -> None:
    await auth_settings(app_a.tenant, oauth_providers={"facebook": {}})
    await _sign_up_then_log_in(app_a, {"facebook": {"id": "1001", "access_token": "tok-alice"}})
    assert provider_api[0][0] == "/graph/me?fields=id&access_token=tok-alice"
    assert all(not path.startswith("/graph/app") for path, _ in provider_api)  # no app ids: no app check
    expected = (251, "Facebook auth is invalid for this user.")
    assert await _code(app_a, {"facebook": {"id": "1002", "access_token": "tok-alice"}}) == expected
    assert await _code(app_a, {"facebook": {"id": "1001", "access_token": "unknown"}}) == expected


async def test_facebook_app_ids(app_a: ParseApp, provider_api: list[tuple[str, dict[str, str]]]) -> None:
    await auth_settings(app_a.tenant, oauth_providers={"facebook": {"app_ids": ["fb-app-1"]}})
    await _sign_up_then_log_in(app_a, {"facebook": {"id": "1001", "access_token": "tok-alice"}})
    assert "/graph/app?access_token=tok-alice" in [path for path, _ in provider_api]
    # bob's token is genuine, but was issued to another Facebook app.
    code, error = await _code(app_a, {"facebook": {"id": "1002", "access_token": "tok-bob"}})
    assert (code, error) == (251, "Facebook auth is invalid for this application.")


async def test_provider_unreachable_is_251(app_a: ParseApp, settings: Any) -> None:
    server = HTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    closed = f"http://127.0.0.1:{server.server_address[1]}"
    server.server_close()  # nothing listens there any more
    settings.HANGAR_GITHUB_API_URL = closed
    settings.HANGAR_FACEBOOK_GRAPH_URL = closed
    await auth_settings(app_a.tenant, oauth_providers={"github": {}, "facebook": {}})
    github = await app_a.request("POST", "/users", {"authData": {"github": {"id": "1", "access_token": "t"}}})
    assert github.status_code == 400
    assert github.json() == {"code": 251, "error": "GitHub could not be reached to validate authData."}
    facebook = await _code(app_a, {"facebook": {"id": "1", "access_token": "t"}})
    assert facebook == (251, "Facebook could not be reached to validate authData.")


@pytest.mark.parametrize(
    ("provider", "issuer"), [("google", "https://accounts.google.com"), ("apple", "https://appleid.apple.com")]
)
async def test_named_oidc_provider_issuer_default(
    app_a: ParseApp,
    jwks_server: tuple[str, rsa.RSAPrivateKey],  # noqa: F811  (the fixture imported above)
    provider: str,
    issuer: str,
) -> None:
    url, key = jwks_server
    # Only the client ids (and, to reach the local JWKS, its URL): the issuer comes from the provider's defaults.
    await auth_settings(app_a.tenant, oauth_providers={provider: {"client_ids": [CLIENT_ID], "jwks_uri": url}})
    await _sign_up_then_log_in(app_a, {provider: {"id": "sub-1", "id_token": _token(key, "sub-1", iss=issuer)}})
    for bad in [_token(key, "sub-1"), _token(key, "sub-1", iss=issuer, aud="another-client")]:
        code, _ = await _code(app_a, {provider: {"id": "sub-1", "id_token": bad}})
        assert code == 251
