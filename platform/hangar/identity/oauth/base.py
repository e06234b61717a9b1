"""What every ``authData`` adapter shares: the provider call and the adapter protocol.

``provider_get`` is the only place the adapters call a login provider over HTTP (JWKS for
ID tokens, the GitHub / Facebook APIs for access tokens); it sends through the platform's
egress policy (hangar.egress, docs/egress.md). Tests point the adapters' base URLs at a
local server and allow loopback explicitly.
"""

from __future__ import annotations

from typing import Any, Protocol

from hangar.egress import EgressError, EgressResponse, egress_get
from hangar.parse_errors import INVALID_LINKED_SESSION, ParseError


class AuthDataAdapter(Protocol):
    """Validates ``authData.<provider>`` (already known to carry a string ``id``) or raises 251."""

    async def __call__(self, *, provider: str, config: dict[str, Any], data: dict[str, Any]) -> None: ...


def invalid(message: str) -> ParseError:
    return ParseError(INVALID_LINKED_SESSION, message)


async def provider_get(
    url: str, *, params: dict[str, str] | None = None, headers: dict[str, str] | None = None
) -> EgressResponse:
    """GET ``url`` under the egress policy; raises ``EgressError`` when it fails, never on a status."""
    return await egress_get(url, params=params, headers=headers)


async def provider_get_json(
    url: str, *, params: dict[str, str] | None = None, headers: dict[str, str] | None = None, provider_name: str
) -> tuple[int, Any]:
    """``(status, JSON body or None)``; a network failure is 251 naming the provider."""
    try:
        response = await provider_get(url, params=params, headers=headers)
    except EgressError as exc:
        raise invalid(f"{provider_name} could not be reached to validate authData.") from exc
    try:
        body = response.json()
    except ValueError:
        body = None
    return response.status_code, body
