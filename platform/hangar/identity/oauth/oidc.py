"""ID-token verification for Google, Apple, Facebook (Limited Login), GitHub-via-OIDC and any
OpenID Connect provider: JWKS signature, ``iss``, ``aud`` (the app's client ids), ``exp``.

The JWKS is fetched over HTTP through ``jwks_fetch`` (the one egress function) and cached
per URL for JWKS_CACHE_SECONDS; an unknown ``kid`` refetches once (key rotation).
Provider references: https://developers.google.com/identity/openid-connect/openid-connect#validatinganidtoken,
https://developer.apple.com/documentation/sign_in_with_apple/verifying_a_user.
"""

from __future__ import annotations

import time
from typing import Any

import jwt

from hangar.egress import EgressError
from hangar.identity.oauth.base import provider_get
from hangar.parse_errors import INVALID_LINKED_SESSION, ParseError

JWKS_CACHE_SECONDS = 3600
_ALGORITHMS = ["RS256", "ES256"]

# provider -> default issuer(s) and JWKS URL; an app's config may override both ("issuer", "jwks_uri").
PROVIDERS: dict[str, dict[str, Any]] = {
    "google": {"issuers": ["https://accounts.google.com", "accounts.google.com"],
               "jwks_uri": "https://www.googleapis.com/oauth2/v3/certs"},
    "apple": {"issuers": ["https://appleid.apple.com"], "jwks_uri": "https://appleid.apple.com/auth/keys"},
    "facebook": {"issuers": ["https://www.facebook.com"],
                 "jwks_uri": "https://limited.facebook.com/.well-known/oauth/openid/jwks/"},
    "github": {"issuers": [], "jwks_uri": ""},
    "oidc": {"issuers": [], "jwks_uri": ""},
}  # fmt: skip

_jwks_cache: dict[str, tuple[float, dict[str, Any]]] = {}


def _invalid(reason: str) -> ParseError:
    return ParseError(INVALID_LINKED_SESSION, f"Invalid authData: {reason}")


async def jwks_fetch(url: str) -> dict[str, Any]:
    """Fetch a provider's keys through the one egress function (``base.provider_get``)."""
    response = await provider_get(url)
    if response.status_code != 200:
        raise ValueError(f"the JWKS URL answered {response.status_code}")
    keys = response.json()
    if not isinstance(keys, dict):
        raise ValueError("the JWKS is not a JSON object")
    return keys


async def _signing_key(url: str, kid: str | None) -> Any:
    for attempt in range(2):
        cached = _jwks_cache.get(url)
        if cached is None or time.monotonic() - cached[0] > JWKS_CACHE_SECONDS or attempt == 1:
            try:
                cached = (time.monotonic(), await jwks_fetch(url))
            except (EgressError, ValueError) as exc:
                raise _invalid("the provider's keys could not be fetched") from exc
            _jwks_cache[url] = cached
        for key in cached[1].get("keys", []):
            if kid is None or key.get("kid") == kid:
                return jwt.PyJWK(key).key
    raise _invalid("unknown signing key")


async def id_token_verify(*, provider: str, config: dict[str, Any], data: dict[str, Any]) -> None:
    """Accept ``authData.<provider>`` only with an ID token (``id_token`` or ``token``) that proves ``id``."""
    spec = PROVIDERS[provider]
    token = data.get("id_token") or data.get("token")
    client_ids = config.get("client_ids") or []
    issuers = [config["issuer"]] if config.get("issuer") else spec["issuers"]
    jwks_uri = config.get("jwks_uri") or spec["jwks_uri"]
    if not isinstance(token, str) or not client_ids or not jwks_uri or not issuers:
        raise _invalid(f"{provider} is not configured or no id_token was sent")
    try:
        header = jwt.get_unverified_header(token)
        key = await _signing_key(jwks_uri, header.get("kid"))
        claims = jwt.decode(
            token, key=key, algorithms=_ALGORITHMS, audience=client_ids, issuer=issuers,
            options={"require": ["exp", "iss", "aud", "sub"]},
        )  # fmt: skip
    except jwt.PyJWTError as exc:
        raise _invalid(str(exc)) from exc
    if claims["sub"] != data["id"]:
        raise _invalid("the id token belongs to another user")
