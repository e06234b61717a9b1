"""Facebook classic login by access token, as Parse Server's facebook adapter:
``{"id", "access_token"}`` is valid when ``GET {HANGAR_FACEBOOK_GRAPH_URL}/me?fields=id`` answers
that ``id`` and, when the app configured Facebook app ids (``app_ids``, else ``client_ids``),
``GET /app`` with the same token names one of them. Limited Login (an ``id_token``) stays on
the OIDC path. Reference: https://developers.facebook.com/docs/graph-api/reference/user/.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from hangar.identity.oauth.base import invalid, provider_get_json

INVALID_MESSAGE = "Facebook auth is invalid for this user."
APP_MISMATCH_MESSAGE = "Facebook auth is invalid for this application."


async def access_token_verify(*, provider: str, config: dict[str, Any], data: dict[str, Any]) -> None:
    token = data.get("access_token")
    if not isinstance(token, str) or not token:
        raise invalid(INVALID_MESSAGE)
    base = str(settings.HANGAR_FACEBOOK_GRAPH_URL).rstrip("/")
    status, body = await provider_get_json(
        f"{base}/me", params={"fields": "id", "access_token": token}, provider_name="Facebook"
    )
    if status != 200 or not isinstance(body, dict) or str(body.get("id")) != data["id"]:
        raise invalid(INVALID_MESSAGE)
    app_ids = [str(app_id) for app_id in (config.get("app_ids") or config.get("client_ids") or [])]
    if not app_ids:
        return
    status, body = await provider_get_json(f"{base}/app", params={"access_token": token}, provider_name="Facebook")
    if status != 200 or not isinstance(body, dict) or str(body.get("id")) not in app_ids:
        raise invalid(APP_MISMATCH_MESSAGE)
