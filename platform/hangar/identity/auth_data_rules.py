"""The ``authData`` rules of every ``_User`` write (reference §10.2), whichever form the write takes.

A body may name ``authData`` as the top-level object (``{"authData": {"google": {...}}}``), as a
dotted key per provider (``{"authData.google": {...}}``, ``{"authData.google": null}``,
``{"authData.google": {"__op": "Delete"}}``) or with an operation. ``auth_data_from_body`` folds
every form into one ``{provider: data, or None to unlink}`` mapping *before* anything else reads
the body, so the one validation below (proof of the id, 208 for an id linked elsewhere) can not
be stepped around by spelling the key differently. What cannot be expressed as "link or unlink a
whole provider" is refused: a key below a provider (``authData.google.id``, 105, as in Parse
Server) would edit a linked id without proving it, and any other operation has no meaning for
a login method (252).
"""

from __future__ import annotations

import re
from typing import Any

from psycopg import AsyncConnection

from hangar.caller import Caller
from hangar.identity import oauth
from hangar.identity.auth_settings import AuthSettingsRecord
from hangar.identity.user_lookup import user_id_by_auth
from hangar.parse_errors import ACCOUNT_ALREADY_LINKED, INVALID_KEY_NAME, UNSUPPORTED_SERVICE, ParseError

AUTH_DATA = "authData"
ANONYMOUS = "anonymous"
# Parse Server's own pattern for a provider name (``authData.<provider>.id`` lookups).
_PROVIDER_NAME = re.compile(r"[A-Za-z0-9_]+")

AuthDataChanges = dict[str, dict[str, Any] | None]


def _unsupported() -> ParseError:
    return ParseError(UNSUPPORTED_SERVICE, "This authentication method is unsupported.")


def _provider_value(provider: str, value: Any) -> dict[str, Any] | None:
    """One provider's requested data; ``None`` (or a Delete operation) unlinks it."""
    if not _PROVIDER_NAME.fullmatch(provider):
        raise _unsupported()
    if isinstance(value, dict) and "__op" in value:
        if value["__op"] == "Delete":
            return None
        raise _unsupported()
    return value


def auth_data_from_body(body: dict[str, Any]) -> tuple[dict[str, Any], AuthDataChanges | None]:
    """The body without any ``authData`` key, and what those keys asked for (``None``: nothing)."""
    rest: dict[str, Any] = {}
    requested: AuthDataChanges | None = None
    for key, value in body.items():
        path = key.split(".")
        if path[0] != AUTH_DATA:
            rest[key] = value
            continue
        requested = {} if requested is None else requested
        if len(path) == 1:
            if not isinstance(value, dict) or "__op" in value:
                raise _unsupported()  # Parse Server: 252 for authData set to null or operated on as a whole
            requested.update({provider: _provider_value(provider, data) for provider, data in value.items()})
        elif len(path) == 2:
            requested[path[1]] = _provider_value(path[1], value)
        else:
            raise ParseError(INVALID_KEY_NAME, f"Invalid field name for update: {key}")
    return rest, requested


async def auth_data_proven(
    requested: AuthDataChanges, settings: AuthSettingsRecord, user_id: str | None
) -> AuthDataChanges:
    """What to store for each provider once its provider proved it (only its id), else the Parse error.

    ``None`` unlinks and is only allowed on an existing user. The providers' servers are asked
    here, so the caller must not hold a transaction (hangar.identity.password_login's rule too).
    """
    stored: AuthDataChanges = {}
    for provider, data in requested.items():
        if data is None and user_id is not None:
            stored[provider] = None
            continue
        await oauth.auth_data_validate(provider=provider, data=data, settings=settings)
        assert data is not None  # validated: a dict with a string id
        stored[provider] = oauth.auth_data_to_store(data)
    return stored


async def auth_data_owners_check(
    conn: AsyncConnection, caller: Caller, stored: AuthDataChanges, user_id: str | None
) -> None:
    """Refuse a provider id already linked to another user (208)."""
    for provider, data in stored.items():
        if data is None:
            continue
        owner = await user_id_by_auth(conn, caller.app_pk, provider, data["id"])
        if owner is not None and owner != user_id:
            raise ParseError(ACCOUNT_ALREADY_LINKED, "this auth is already used")


def with_anonymous_dropped(requested: AuthDataChanges | None, *, password_set: bool) -> AuthDataChanges | None:
    """An update that gives the user a real credential (a password or another provider) unlinks
    ``anonymous``, so the device-held anonymous id no longer opens the upgraded account.

    Parse's SDKs strip the anonymous provider themselves on sign-up and linking; doing it here too
    protects REST clients and any SDK that does not. A request that names ``anonymous`` itself
    is followed as asked (a user may link an anonymous id on purpose).
    """
    requested = dict(requested or {})
    if ANONYMOUS in requested:
        return requested or None
    links_provider = any(data is not None for data in requested.values())
    if password_set or links_provider:
        requested[ANONYMOUS] = None
    return requested or None
