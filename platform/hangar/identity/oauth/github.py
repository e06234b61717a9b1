"""GitHub ``authData`` by access token, as Parse Server's github adapter: ``{"id", "access_token"}``
is valid when ``GET {HANGAR_GITHUB_API_URL}/user`` with that token answers 200 for the same ``id``.
Reference: https://docs.github.com/en/rest/users/users#get-the-authenticated-user.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from hangar.identity.oauth.base import invalid, provider_get_json

INVALID_MESSAGE = "GitHub auth is invalid for this user."


async def access_token_verify(*, provider: str, config: dict[str, Any], data: dict[str, Any]) -> None:
    token = data.get("access_token")
    if not isinstance(token, str) or not token:
        raise invalid(INVALID_MESSAGE)
    base = str(settings.HANGAR_GITHUB_API_URL).rstrip("/")
    status, body = await provider_get_json(
        f"{base}/user",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json"},
        provider_name="GitHub",
    )
    if status != 200 or not isinstance(body, dict) or str(body.get("id")) != data["id"]:
        raise invalid(INVALID_MESSAGE)
