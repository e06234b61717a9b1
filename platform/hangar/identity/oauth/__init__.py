"""``authData`` providers (reference §10.2): which ones an app accepts, and their validation.

``anonymous`` only needs an ``id``. The OAuth / OpenID Connect providers verify an ID
token (hangar.identity.oauth.oidc); their client ids come from the app's auth settings.
``github`` and ``facebook`` with an ``access_token`` (and no ``id_token``) are checked against
the provider's API instead (hangar.identity.oauth.github / .facebook). Every adapter has the
``base.AuthDataAdapter`` signature and calls providers only through ``base.provider_get``.

Once validated, only the provider's ``id`` is stored (``auth_data_to_store``): tokens prove
who the user is at that moment and nothing in Hangar uses them later, so keeping them would
only turn a leak of the user row into a leak of live provider credentials. Parse Server's
newer adapters store and expose the same ``{"id"}``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hangar.datastore.connection import in_batch_transaction
from hangar.parse_errors import LINKED_ID_MISSING, OPERATION_FORBIDDEN, UNSUPPORTED_SERVICE, ParseError

if TYPE_CHECKING:
    from hangar.identity.auth_settings import AuthSettingsRecord
    from hangar.identity.oauth.base import AuthDataAdapter


def _unsupported() -> ParseError:
    return ParseError(UNSUPPORTED_SERVICE, "This authentication method is unsupported.")


# Provider ids are unique per app through btree indexes (datastore 0011); real providers' ids
# are short, so this only bounds what a client may choose as an anonymous id.
MAX_PROVIDER_ID_BYTES = 1024


async def auth_data_validate(*, provider: str, data: Any, settings: AuthSettingsRecord) -> None:
    """Raise the Parse error for ``authData.<provider>`` that does not prove who the user is."""
    if not isinstance(data, dict):
        raise _unsupported()
    if not isinstance(data.get("id"), str) or not data["id"]:
        raise ParseError(LINKED_ID_MISSING, "A linked id is missing.")
    if len(data["id"].encode()) > MAX_PROVIDER_ID_BYTES:
        raise ParseError(LINKED_ID_MISSING, f"A linked id is longer than {MAX_PROVIDER_ID_BYTES} bytes.")
    if provider == "anonymous":
        if not settings.allow_anonymous_users:
            raise _unsupported()
        return
    config = (settings.oauth_providers or {}).get(provider)
    adapter = _adapter(provider, data)
    if adapter is None or not isinstance(config, dict):
        raise _unsupported()
    if in_batch_transaction():
        # A transactional /batch holds its connection between items: no provider call may run inside it.
        raise ParseError(
            OPERATION_FORBIDDEN,
            "authData cannot be validated inside a transactional batch; send that request on its own.",
        )
    await adapter(provider=provider, config=config, data=data)


def _adapter(provider: str, data: dict[str, Any]) -> AuthDataAdapter | None:
    from hangar.identity.oauth import facebook, github, oidc

    has_id_token = bool(data.get("id_token") or data.get("token"))
    if provider == "github" and data.get("access_token") and not has_id_token:
        return github.access_token_verify
    if provider == "facebook" and data.get("access_token") and not has_id_token:
        return facebook.access_token_verify
    return oidc.id_token_verify if provider in oidc.PROVIDERS else None


def auth_data_to_store(data: dict[str, Any]) -> dict[str, str]:
    """What is kept of a validated ``authData.<provider>``: the id it proved, no token."""
    return {"id": data["id"]}
