"""The dashboard's Users page: find and create end users, their sessions, reset and verification mails.

Like tenants.data_browser, every call goes through the Parse API's own services with the
app's master scope: ``_User`` writes through the datastore (hangar.identity's class rules
hash the password and keep usernames and emails unique), a session is revoked by deleting
its ``_Session`` (revoked in every process at once), and mails are requested as
``POST /requestPasswordReset`` and ``/verificationEmailRequest`` would (same rate limit).
"""

from __future__ import annotations

import re
from typing import Any

from asgiref.sync import async_to_sync

from hangar.datastore import queries
from hangar.identity import users
from tenants import data_browser
from tenants.data_browser import DataInputError, GridPage
from tenants.models import App

USER = "_User"
SESSION = "_Session"
SESSIONS_LISTED = 100


def user_page(*, app: App, search: str = "", cursor: str | None = None) -> GridPage:
    """A page of the app's users, newest first; ``search`` matches the start of the username or the email."""
    where: dict[str, Any] = {}
    search = search.strip()
    if search:
        prefix = {"$regex": "^" + re.escape(search)}
        where = {"$or": [{"username": prefix}, {"email": prefix}]}
    return data_browser.data_page(app=app, class_name=USER, where=where, cursor=cursor)


def user_get(*, app: App, user_id: str) -> dict[str, Any]:
    return data_browser.data_object_get(app=app, class_name=USER, object_id=user_id)


def user_create(*, app: App, username: str, password: str, email: str = "") -> str:
    """Create an end user as ``POST /classes/_User`` with the master key would; returns its objectId."""
    if not username.strip() or not password:
        raise DataInputError("A user needs a username and a password.")
    body: dict[str, Any] = {"username": username.strip(), "password": password}
    if email.strip():
        body["email"] = email.strip()
    return data_browser.data_object_create(app=app, class_name=USER, body=body)


def user_sessions(*, app: App, user_id: str) -> list[dict[str, Any]]:
    """The user's sessions (never their tokens: the datastore does not return them), newest first."""
    params = {
        "where": {"user": {"__type": "Pointer", "className": USER, "objectId": user_id}},
        "order": "-createdAt", "limit": SESSIONS_LISTED,
    }  # fmt: skip
    found = async_to_sync(queries.object_find)(
        caller=data_browser.master_caller(app), class_name=SESSION, params=params,
        files_base=data_browser.files_base(app),
    )  # fmt: skip
    return list(found["results"])


def session_revoke(*, app: App, user_id: str, session_id: str) -> None:
    """Revoke one of the user's sessions; a session of another user is refused (404), never deleted."""
    if not any(session["objectId"] == session_id for session in user_sessions(app=app, user_id=user_id)):
        raise DataInputError("That session is not one of this user's.")
    data_browser.data_objects_delete(app=app, class_name=SESSION, object_ids=[session_id])


def password_reset_send(*, app: App, email: str) -> None:
    async_to_sync(users.password_reset_request)(caller=data_browser.master_caller(app), body={"email": email})


def verification_send(*, app: App, email: str) -> None:
    async_to_sync(users.verification_email_request)(caller=data_browser.master_caller(app), body={"email": email})


# Roles ----------------------------------------------------------------------------------------

ROLE = "_Role"
ROLES_LISTED = 200
MEMBERS_LISTED = 200


def _pointer(class_name: str, object_id: str) -> dict[str, str]:
    return {"__type": "Pointer", "className": class_name, "objectId": object_id}


def _find(app: App, class_name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    found = async_to_sync(queries.object_find)(
        caller=data_browser.master_caller(app), class_name=class_name, params=params,
        files_base=data_browser.files_base(app),
    )  # fmt: skip
    return list(found["results"])


def role_list(*, app: App) -> list[dict[str, Any]]:
    return _find(app, ROLE, {"order": "name", "limit": ROLES_LISTED})


def role_get(*, app: App, role_id: str) -> dict[str, Any]:
    return data_browser.data_object_get(app=app, class_name=ROLE, object_id=role_id)


def role_create(*, app: App, name: str, public_read: bool = True) -> str:
    """A role readable by everyone (or no one but the master key) and writable only with the master key.

    Parse requires an ACL on a new role: without one anyone could edit its members.
    """
    acl: dict[str, Any] = {"*": {"read": True}} if public_read else {}
    return data_browser.data_object_create(app=app, class_name=ROLE, body={"name": name.strip(), "ACL": acl})


def role_delete(*, app: App, role_id: str) -> None:
    data_browser.data_objects_delete(app=app, class_name=ROLE, object_ids=[role_id])


def role_members(*, app: App, role_id: str) -> list[dict[str, Any]]:
    """The role's users (its ``users`` relation), by username."""
    where = {"$relatedTo": {"object": _pointer(ROLE, role_id), "key": "users"}}
    return _find(app, USER, {"where": where, "order": "username", "limit": MEMBERS_LISTED})


def role_member_add(*, app: App, role_id: str, username: str) -> None:
    """Add the user with this username to the role (AddRelation on ``users``, as a client SDK would)."""
    matches = _find(app, USER, {"where": {"username": username.strip()}, "limit": 1})
    if not matches:
        raise DataInputError(f"No user named {username.strip()!r}.")
    body = {"users": {"__op": "AddRelation", "objects": [_pointer(USER, matches[0]["objectId"])]}}
    data_browser.data_object_update(app=app, class_name=ROLE, object_id=role_id, body=body)


def role_member_remove(*, app: App, role_id: str, user_id: str) -> None:
    body = {"users": {"__op": "RemoveRelation", "objects": [_pointer(USER, user_id)]}}
    data_browser.data_object_update(app=app, class_name=ROLE, object_id=role_id, body=body)
