"""Through the Parse API: an app's OAuth settings cannot point Hangar's provider calls at internal hosts."""

from __future__ import annotations

from typing import Any

import pytest

from tests.datastore.conftest import ParseApp
from tests.egress.conftest import Recorder
from tests.identity.conftest import auth_settings

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def production_policy(settings: Any) -> None:
    settings.HANGAR_EGRESS_PROXY = None
    settings.HANGAR_EGRESS_ALLOWED_DOMAINS = []
    settings.HANGAR_EGRESS_ALLOW_PRIVATE = []


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]", "2130706433"])
async def test_a_jwks_uri_on_an_internal_host_is_never_fetched(app_a: ParseApp, upstream: Recorder, host: str) -> None:
    """A developer's ``jwks_uri`` aimed at loopback (or the cloud metadata service) gets 251, not a request."""
    jwks_uri = f"http://{host}:{upstream.port}/jwks-{host.strip('[]')}"
    await auth_settings(
        app_a.tenant,
        oauth_providers={"oidc": {"issuer": "https://issuer.test", "jwks_uri": jwks_uri, "client_ids": ["c"]}},
    )
    token = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1MSJ9.c2ln"
    response = await app_a.request("POST", "/users", {"authData": {"oidc": {"id": "u1", "id_token": token}}})
    assert response.json()["code"] == 251, response.text
    assert upstream.seen == []


async def test_an_access_token_provider_on_an_internal_host_is_never_called(
    settings: Any, app_a: ParseApp, upstream: Recorder
) -> None:
    settings.HANGAR_GITHUB_API_URL = f"http://localhost:{upstream.port}/github"
    await auth_settings(app_a.tenant, oauth_providers={"github": {"client_ids": ["c"]}})
    response = await app_a.request("POST", "/users", {"authData": {"github": {"id": "1", "access_token": "t"}}})
    assert response.json()["code"] == 251, response.text
    assert upstream.seen == []
