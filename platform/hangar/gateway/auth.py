"""The auth context of a Parse request: which app, and as whom (master, user, anonymous).

Key rules follow Parse Server (reference §1.4-§1.5): a matching master key gives
master rights; otherwise the request must carry one client key (client, JavaScript,
REST or .NET) equal to the app's; anything else is ``403 unauthorized``.
"""

from __future__ import annotations

from dataclasses import dataclass

from hangar.gateway.app_registry import AppRecord, app_admit
from hangar.gateway.errors import UnauthorizedError
from hangar.gateway.request import ParseRequest
from hangar.secretbox import secrets_match

_CLIENT_KEY_FIELDS = (
    ("client_key", "client"),
    ("javascript_key", "javascript"),
    ("rest_key", "rest"),
    ("dotnet_key", "dotnet"),
)


@dataclass(frozen=True)
class AuthContext:
    app: AppRecord
    is_master: bool
    session_token: str | None
    installation_id: str | None

    @property
    def app_pk(self) -> int:
        return self.app.pk


def _key_matches(app: AppRecord, kind: str, presented: str | None) -> bool:
    expected = app.key_digests.get(kind)
    return bool(presented) and expected is not None and secrets_match(presented or "", expected)


async def authenticate(request: ParseRequest) -> AuthContext:
    """Resolve the app and check the keys; raise UnauthorizedError (403) on any mismatch."""
    if not request.application_id:
        raise UnauthorizedError()
    app = await app_admit(request.application_id)
    if app is None:
        raise UnauthorizedError()
    if _key_matches(app, "master", request.master_key):
        return AuthContext(app=app, is_master=True, session_token=None, installation_id=request.installation_id)
    if not any(_key_matches(app, kind, getattr(request, field)) for field, kind in _CLIENT_KEY_FIELDS):
        raise UnauthorizedError()
    return AuthContext(
        app=app, is_master=False, session_token=request.session_token, installation_id=request.installation_id
    )


def require_master(auth: AuthContext) -> None:
    if not auth.is_master:
        raise UnauthorizedError("unauthorized: master key is required")
