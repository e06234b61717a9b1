"""OAuth / OpenID Connect ``authData``: ID tokens verified against a JWKS served by a local HTTP server."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.datastore.conftest import ParseApp
from tests.identity.conftest import auth_settings

pytestmark = pytest.mark.django_db(transaction=True)
ISSUER = "https://issuer.test"
CLIENT_ID = "hangar-client"


@pytest.fixture
def jwks_server(settings: Any) -> Iterator[tuple[str, rsa.RSAPrivateKey]]:
    """A provider's JWKS on a local server, which egress may reach only because the test allows it."""
    settings.HANGAR_EGRESS_ALLOW_PRIVATE = ["127.0.0.1/32"]
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    document = json.dumps({"keys": [{**public, "kid": "k1", "alg": "RS256", "use": "sig"}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/jwks", key
    server.shutdown()
    server.server_close()


def _token(key: rsa.RSAPrivateKey, sub: str, **claims: object) -> str:
    payload = {"iss": ISSUER, "aud": CLIENT_ID, "sub": sub, "exp": int(time.time()) + 600, **claims}
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": "k1"})


async def test_oidc_sign_up_login_and_rejections(app_a: ParseApp, jwks_server: tuple[str, rsa.RSAPrivateKey]) -> None:
    url, key = jwks_server
    await auth_settings(
        app_a.tenant, oauth_providers={"oidc": {"issuer": ISSUER, "jwks_uri": url, "client_ids": [CLIENT_ID]}}
    )
    good = {"oidc": {"id": "user-1", "id_token": _token(key, "user-1")}}
    created = await app_a.request("POST", "/users", {"authData": good})
    assert created.status_code == 201, created.text
    login = await app_a.request("POST", "/users", {"authData": good})
    assert login.status_code == 200
    assert login.json()["objectId"] == created.json()["objectId"]
    bad_cases = [
        _token(key, "user-1", aud="someone-else"),
        _token(key, "user-1", iss="https://evil.test"),
        _token(key, "user-1", exp=int(time.time()) - 10),
        _token(key, "user-2"),  # proves another id
        _token(rsa.generate_private_key(public_exponent=65537, key_size=2048), "user-1"),  # wrong signature
    ]
    for token in bad_cases:
        response = await app_a.request("POST", "/users", {"authData": {"oidc": {"id": "user-1", "id_token": token}}})
        assert response.json()["code"] == 251, response.text
    # A provider the app did not configure is unsupported.
    google = await app_a.request("POST", "/users", {"authData": {"google": {"id": "1", "id_token": "x"}}})
    assert google.json()["code"] == 252
