"""``/users``, ``/login``, ``/logout``, ``/sessions`` and friends (reference §10.1-§10.6): decode, call one
identity service, encode."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from hangar.datastore import queries
from hangar.gateway.auth import AuthContext
from hangar.gateway.handlers import classes
from hangar.gateway.handlers.classes import files_base
from hangar.gateway.request import ParseRequest
from hangar.gateway.responses import ParseResponse
from hangar.identity import users


def _user_location(object_id: str) -> dict[str, str]:
    return {"Location": f"{settings.HANGAR_PUBLIC_URL}{settings.HANGAR_PARSE_MOUNT}/users/{object_id}"}


def _login_params(request: ParseRequest) -> dict[str, Any]:
    """Body wins unless it lacks username and email (reference §10.3)."""
    body = request.body
    if body.get("username") or body.get("email"):
        return body
    return {**body, **request.query}


async def sign_up(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    body, object_id, status = await users.user_sign_up(
        caller=auth.caller, body=request.body, files_base=files_base(auth)
    )
    return ParseResponse(body, status=status, headers=_user_location(object_id))


async def log_in(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    return ParseResponse(
        await users.user_log_in(
            caller=auth.caller, params=_login_params(request), client_ip=request.client_ip, files_base=files_base(auth)
        )
    )


async def verify_password(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    return ParseResponse(
        await users.user_verify_password(
            caller=auth.caller, params=_login_params(request), client_ip=request.client_ip, files_base=files_base(auth)
        )
    )


async def log_in_as(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    return ParseResponse(
        await users.user_log_in_as(caller=auth.caller, params=request.body, files_base=files_base(auth))
    )


async def log_out(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    await users.user_log_out(caller=auth.caller, session_token=auth.session_token)
    return ParseResponse({})


async def me(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    return ParseResponse(
        await users.user_me(caller=auth.caller, session_token=auth.session_token, files_base=files_base(auth))
    )


async def find(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    return ParseResponse(
        await queries.object_find(
            caller=auth.caller, class_name="_User", params=request.params(), files_base=files_base(auth)
        )
    )


async def get(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    obj = await queries.object_get(
        caller=auth.caller,
        class_name="_User",
        object_id=params["objectId"],
        params=request.params(),
        files_base=files_base(auth),
    )
    if auth.caller.user_id == params["objectId"] and auth.session_token:
        obj["sessionToken"] = auth.session_token  # the caller's own record carries its token (§10.5)
    return ParseResponse(obj)


async def session_me(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    return ParseResponse(
        await users.session_me(caller=auth.caller, session_token=auth.session_token, files_base=files_base(auth))
    )


async def session_find(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    return ParseResponse(
        await users.session_find(caller=auth.caller, params=request.params(), files_base=files_base(auth))
    )


async def session_get(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    return ParseResponse(
        await queries.object_get(
            caller=auth.caller,
            class_name="_Session",
            object_id=params["objectId"],
            params=request.params(),
            files_base=files_base(auth),
        )
    )


async def session_create(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    body = await users.session_create(caller=auth.caller, body=request.body, files_base=files_base(auth))
    return ParseResponse(body, status=201)


async def upgrade_session(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    return ParseResponse(await users.session_upgrade(caller=auth.caller, session_token=auth.session_token))


async def request_password_reset(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    await users.password_reset_request(caller=auth.caller, body=request.body)
    return ParseResponse({})


async def verification_email_request(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    await users.verification_email_request(caller=auth.caller, body=request.body)
    return ParseResponse({})


def register(router: Any) -> None:
    router.add("POST", "/users", sign_up)
    router.add("GET", "/users", find)
    router.add("GET", "/users/me", me)
    router.add("GET", "/users/:objectId", get)
    router.add("PUT", "/users/:objectId", classes.for_class("_User", classes.update))
    router.add("DELETE", "/users/:objectId", classes.for_class("_User", classes.delete))
    router.add("POST", "/login", log_in)
    router.add("GET", "/login", log_in)
    router.add("POST", "/loginAs", log_in_as)
    router.add("POST", "/logout", log_out)
    router.add("GET", "/verifyPassword", verify_password)
    router.add("POST", "/verifyPassword", verify_password)
    router.add("POST", "/upgradeToRevocableSession", upgrade_session)
    router.add("POST", "/requestPasswordReset", request_password_reset)
    router.add("POST", "/verificationEmailRequest", verification_email_request)
    router.add("GET", "/sessions/me", session_me)
    router.add("GET", "/sessions", session_find)
    router.add("POST", "/sessions", session_create)
    router.add("GET", "/sessions/:objectId", session_get)
    router.add("PUT", "/sessions/:objectId", classes.for_class("_Session", classes.update))
    router.add("DELETE", "/sessions/:objectId", classes.for_class("_Session", classes.delete))
