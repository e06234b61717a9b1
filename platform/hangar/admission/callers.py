"""Who a request acts as: the key rules, the session and the roles, resolved into a ``Caller``.

Key rules follow Parse Server (reference §1.4-§1.5): a matching master key gives master
rights; otherwise the request must carry one client key (client, JavaScript, REST or
.NET) equal to the app's; anything else is ``403 unauthorized``. A session token is
resolved whenever one is presented, so a bad one answers 209 everywhere (§1.5 step 7).
The keys are checked before the request is counted, so that a keyless request is
counted against its address rather than the app (``hangar.admission.registry``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hangar.admission.registry import Admission, AppRecord, app_admit
from hangar.caller import Caller
from hangar.datastore.change_feed import live_classes_decode
from hangar.identity.roles import user_role_names
from hangar.identity.sessions import session_user_id
from hangar.parse_errors import OPERATION_FORBIDDEN, ParseError, UnauthorizedError
from hangar.secretbox import secrets_match


@dataclass(frozen=True)
class Credentials:
    """What a client presented, whatever its wire (Parse HTTP headers, a LiveQuery connect message, ...)."""

    application_id: str | None
    client_ip: str
    master_key: str | None = None
    # The client keys presented, each with the kind it was presented as (client, javascript, rest, dotnet).
    client_keys: tuple[tuple[str, str | None], ...] = ()
    session_token: str | None = None
    installation_id: str | None = None


@dataclass(frozen=True)
class AuthContext:
    """An admitted request: its app, the caller the data services act for, and the session it presented."""

    app: AppRecord
    caller: Caller
    session_token: str | None
    # A restore of the app is running (hangar.backups.lease): the gateway refuses the request if it writes.
    restoring: bool = False

    @property
    def is_master(self) -> bool:
        return self.caller.is_master

    @property
    def app_pk(self) -> int:
        return self.app.pk


def _key_matches(app: AppRecord, kind: str, presented: str | None) -> bool:
    expected = app.key_digests.get(kind)
    return bool(presented) and expected is not None and secrets_match(presented or "", expected)


def _credential_of(credentials: Credentials) -> Callable[[AppRecord], str | None]:
    """Which of the app's keys the request carries: "master", "client" (any client key) or None."""

    def credential_of(app: AppRecord) -> str | None:
        if _key_matches(app, "master", credentials.master_key):
            return "master"
        if any(_key_matches(app, kind, presented) for kind, presented in credentials.client_keys):
            return "client"
        return None

    return credential_of


def _no_credential(app: AppRecord) -> None:
    return None


async def _user_caller(admission: Admission[str], credentials: Credentials, *, resolve_session: bool) -> Caller:
    app = admission.app
    user_id = None
    principals: tuple[str, ...] = ("*",)
    if credentials.session_token and resolve_session:
        user_id = await session_user_id(
            app_pk=app.pk, token=credentials.session_token, session_version=admission.session_version
        )
        roles = await user_role_names(app_pk=app.pk, user_id=user_id, role_version=admission.role_version)
        principals = ("*", user_id, *(f"role:{name}" for name in roles))
    return Caller(
        app_pk=app.pk, is_master=False, user_id=user_id, principals=principals,
        installation_id=credentials.installation_id, schema_version=admission.schema_version,
        live_classes=live_classes_decode(admission.live_classes), client_ip=credentials.client_ip, plan=app.plan,
        cloud_code=app.cloud_code, webhooks=app.webhooks, client_class_creation=app.client_class_creation,
    )  # fmt: skip


async def admit(credentials: Credentials, *, resolve_session: bool = True) -> AuthContext:
    """Resolve the app, check the keys and the session; raise 403 (unauthorized) or 209 as Parse Server does."""
    if not credentials.application_id:
        raise UnauthorizedError()
    admission = await app_admit(
        credentials.application_id, client_ip=credentials.client_ip, credential_of=_credential_of(credentials)
    )
    if admission is None:
        raise UnauthorizedError()
    app = admission.app
    if admission.credential == "master":
        caller = Caller(
            app_pk=app.pk, is_master=True, installation_id=credentials.installation_id,
            schema_version=admission.schema_version, live_classes=live_classes_decode(admission.live_classes),
            client_ip=credentials.client_ip, plan=app.plan, cloud_code=app.cloud_code, webhooks=app.webhooks,
        )  # fmt: skip
        return AuthContext(
            app=app, caller=caller, session_token=credentials.session_token, restoring=admission.restoring
        )
    if admission.credential != "client":
        raise UnauthorizedError()
    caller = await _user_caller(admission, credentials, resolve_session=resolve_session)
    return AuthContext(app=app, caller=caller, session_token=credentials.session_token, restoring=admission.restoring)


async def admit_anonymous(application_id: str, *, client_ip: str) -> AuthContext:
    """A keyless request that names its app (file downloads by URL, reference §11): an anonymous caller.

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
        live_classes=live_classes_decode(admission.live_classes), client_ip=client_ip, plan=app.plan,
    )  # fmt: skip
    return AuthContext(app=app, caller=caller, session_token=None, restoring=admission.restoring)


def require_master(auth: AuthContext) -> None:
    if not auth.is_master:
        raise UnauthorizedError("unauthorized: master key is required")
