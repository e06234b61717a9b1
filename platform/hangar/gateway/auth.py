"""The auth context of a Parse request: which app, and as whom (master, user, anonymous).

Key rules follow Parse Server (reference §1.4-§1.5): a matching master key gives
master rights; otherwise the request must carry one client key (client, JavaScript,
REST or .NET) equal to the app's; anything else is ``403 unauthorized``. A session
token is resolved on every route, so a bad one answers 209 everywhere (§1.5 step 7).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hangar.caller import Caller
from hangar.datastore.change_feed import live_classes_decode
from hangar.gateway.app_registry import Admission, AppRecord, app_admit
from hangar.gateway.errors import ParseError, UnauthorizedError
from hangar.gateway.request import ParseRequest
from hangar.identity.roles import user_role_names
from hangar.identity.sessions import session_user_id
from hangar.parse_errors import OPERATION_FORBIDDEN
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
    caller: Caller
    session_token: str | None

    @property
    def is_master(self) -> bool:
        return self.caller.is_master

    @property
    def app_pk(self) -> int:
        return self.app.pk


def _key_matches(app: AppRecord, kind: str, presented: str | None) -> bool:
    expected = app.key_digests.get(kind)
    return bool(presented) and expected is not None and secrets_match(presented or "", expected)


async def _user_caller(admission: Admission[str], request: ParseRequest, *, resolve_session: bool) -> Caller:
    app = admission.app
    user_id = None
    principals: tuple[str, ...] = ("*",)
    if request.session_token and resolve_session:
        user_id = await session_user_id(
            app_pk=app.pk, token=request.session_token, session_version=admission.session_version
        )
        roles = await user_role_names(app_pk=app.pk, user_id=user_id, role_version=admission.role_version)
        principals = ("*", user_id, *(f"role:{name}" for name in roles))
    return Caller(
        app_pk=app.pk, is_master=False, user_id=user_id, principals=principals,
        installation_id=request.installation_id, schema_version=admission.schema_version,
        live_classes=live_classes_decode(admission.live_classes), client_ip=request.client_ip,
    )  # fmt: skip


def _credential(request: ParseRequest) -> Callable[[AppRecord], str | None]:
    """Which of the app's keys the request carries: "master", "client" (any client key) or None."""

    def credential_of(app: AppRecord) -> str | None:
        if _key_matches(app, "master", request.master_key):
            return "master"
        if any(_key_matches(app, kind, getattr(request, field)) for field, kind in _CLIENT_KEY_FIELDS):
            return "client"
        return None

    return credential_of


def _no_credential(app: AppRecord) -> None:
    return None


async def authenticate(request: ParseRequest, *, resolve_session: bool = True) -> AuthContext:
    """Resolve the app, check the keys and the session; raise 403 or 209 as Parse Server does."""
    if not request.application_id:
        raise UnauthorizedError()
    # The keys are checked before the request is counted, so that a keyless one is counted
    # against its address rather than the app (hangar.gateway.app_registry).
    admission = await app_admit(request.application_id, client_ip=request.client_ip, credential_of=_credential(request))
    if admission is None:
        raise UnauthorizedError()
    app = admission.app
    if admission.credential == "master":
        caller = Caller(
            app_pk=app.pk, is_master=True, installation_id=request.installation_id,
            schema_version=admission.schema_version, live_classes=live_classes_decode(admission.live_classes),
        )  # fmt: skip
        return AuthContext(app=app, caller=caller, session_token=request.session_token)
    if admission.credential != "client":
        raise UnauthorizedError()
    caller = await _user_caller(admission, request, resolve_session=resolve_session)
    return AuthContext(app=app, caller=caller, session_token=request.session_token)


def require_master(auth: AuthContext) -> None:
    if not auth.is_master:
        raise UnauthorizedError("unauthorized: master key is required")


async def authenticate_by_path(application_id: str, *, client_ip: str) -> AuthContext:
    """A keyless request naming its app in the path (file downloads, reference §11): an anonymous caller.

    Counted against the client's address, not the app. An unknown app answers
    ``403 {"code": 119, "error": "Invalid application ID."}`` as Parse Server does.
    """
    admission: Admission[None] | None = await app_admit(
        application_id, client_ip=client_ip, credential_of=_no_credential
    )
    if admission is None:
        raise ParseError(OPERATION_FORBIDDEN, "Invalid application ID.", status=403)
    app = admission.app
    caller = Caller(
        app_pk=app.pk, is_master=False, schema_version=admission.schema_version,
        live_classes=live_classes_decode(admission.live_classes),
    )  # fmt: skip
    return AuthContext(app=app, caller=caller, session_token=None)
