"""``authData`` providers (reference §10.2): which ones an app accepts, and their validation.

``anonymous`` only needs an ``id``. The OAuth / OpenID Connect providers verify an ID
token (hangar.identity.oauth.oidc); their client ids come from the app's auth settings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hangar.parse_errors import ParseError

if TYPE_CHECKING:
    from hangar.identity.auth_settings import AuthSettingsRecord

UNSUPPORTED_SERVICE = 252
INVALID_LINKED_SESSION = 251
LINKED_ID_MISSING = 250


def _unsupported() -> ParseError:
    return ParseError(UNSUPPORTED_SERVICE, "This authentication method is unsupported.")


async def auth_data_validate(*, provider: str, data: Any, settings: AuthSettingsRecord) -> None:
    """Raise the Parse error for ``authData.<provider>`` that does not prove who the user is."""
    if not isinstance(data, dict):
        raise _unsupported()
    if not isinstance(data.get("id"), str) or not data["id"]:
        raise ParseError(LINKED_ID_MISSING, "A linked id is missing.")
    if provider == "anonymous":
        if not settings.allow_anonymous_users:
            raise _unsupported()
        return
    from hangar.identity.oauth.oidc import PROVIDERS, id_token_verify

    spec = PROVIDERS.get(provider)
    config = (settings.oauth_providers or {}).get(provider)
    if spec is None or not isinstance(config, dict):
        raise _unsupported()
    await id_token_verify(provider=provider, spec=spec, config=config, data=data)
