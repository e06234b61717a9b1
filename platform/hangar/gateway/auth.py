"""The Parse wire's side of admission: the credentials a Parse request carries.

Headers, HTTP Basic auth and the JS SDK's envelope keys were decoded into the
``ParseRequest``; this module hands them to ``hangar.admission``, which every entry point
shares, and re-exports what the handlers use.
"""

from __future__ import annotations

from hangar.admission.callers import AuthContext, Credentials, admit, admit_anonymous, require_master
from hangar.gateway.request import ParseRequest

__all__ = ["AuthContext", "authenticate", "authenticate_by_path", "credentials_of", "require_master"]


def credentials_of(request: ParseRequest) -> Credentials:
    return Credentials(
        application_id=request.application_id, client_ip=request.client_ip, master_key=request.master_key,
        client_keys=(
            ("client", request.client_key), ("javascript", request.javascript_key),
            ("rest", request.rest_key), ("dotnet", request.dotnet_key),
        ),
        session_token=request.session_token, installation_id=request.installation_id,
    )  # fmt: skip


async def authenticate(request: ParseRequest, *, resolve_session: bool = True) -> AuthContext:
    """Resolve the app, check the keys and the session; raise 403 or 209 as Parse Server does."""
    return await admit(credentials_of(request), resolve_session=resolve_session)


async def authenticate_by_path(application_id: str, *, client_ip: str) -> AuthContext:
    """A keyless request naming its app in the path (file downloads): an anonymous caller."""
    return await admit_anonymous(application_id, client_ip=client_ip)
