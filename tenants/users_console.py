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


def user_sessions(*, app: App, user_id: str, cursor: str | None = None) -> GridPage:
    """A page of the user's sessions (never their tokens: the datastore does not return them), newest first."""
    where = {"user": {"__type": "Pointer", "className": USER, "objectId": user_id}}
    return data_browser.data_page(
        app=app, class_name=SESSION, where=where, cursor=cursor, limit=SESSIONS_LISTED, counted=False
    )


def session_revoke(*, app: App, user_id: str, session_id: str) -> None:
    """Revoke one of the user's sessions; a session of another user is refused (404), never deleted."""
    owner = {"__type": "Pointer", "className": USER, "objectId": user_id}
    if not _find(app, SESSION, {"where": {"objectId": session_id, "user": owner}, "limit": 1}):
        raise DataInputError("That session is not one of this user's.")
    data_browser.data_objects_delete(app=app, class_name=SESSION, object_ids=[session_id])


def password_reset_send(*, app: App, email: str) -> None:
    async_to_sync(users.password_reset_request)(caller=data_browser.master_caller(app), body={"email": email})


def verification_send(*, app: App, email: str) -> None:
    async_to_sync(users.verification_email_request)(caller=data_browser.master_caller(app), body={"email": email})


# Roles ----------------------------------------------------------------------------------------

ROLE = "_Role"
ROLES_LISTED = 50
MEMBERS_LISTED = 50


def _pointer(class_name: str, object_id: str) -> dict[str, str]:
    return {"__type": "Pointer", "className": class_name, "objectId": object_id}


def _find(app: App, class_name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    return data_browser.master_find(app, class_name, params)


def role_page(*, app: App, cursor: str | None = None) -> GridPage:
    """A page of the app's roles by name (keyset, so a thousand roles page like ten)."""
    return data_browser.data_page(app=app, class_name=ROLE, sort="name", cursor=cursor, limit=ROLES_LISTED)


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


def role_members(*, app: App, role_id: str, cursor: str | None = None) -> GridPage:
    """A page of the role's users (its ``users`` relation), by username."""
    where = {"$relatedTo": {"object": _pointer(ROLE, role_id), "key": "users"}}
    return data_browser.data_page(
        app=app, class_name=USER, where=where, sort="username", cursor=cursor, limit=MEMBERS_LISTED
    )


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


# Nested roles ---------------------------------------------------------------------------------
# Parse's ``roles`` relation of a role P holds the roles whose users also get P's rights
# (role.getRoles().add(child)). A cycle would make every role in it grant every other, which
# nobody means; Parse Server does not refuse one, the dashboard does.

MAX_ROLE_WALK = 1_000  # roles visited when checking for a cycle; a deeper graph is refused, not walked for ever


def role_children(*, app: App, role_id: str, cursor: str | None = None) -> GridPage:
    """A page of the roles whose users inherit this role's rights (its ``roles`` relation), by name."""
    where = {"$relatedTo": {"object": _pointer(ROLE, role_id), "key": "roles"}}
    return data_browser.data_page(app=app, class_name=ROLE, where=where, sort="name", cursor=cursor,
                                  limit=ROLES_LISTED)  # fmt: skip


def role_parents(*, app: App, role_id: str, cursor: str | None = None) -> GridPage:
    """A page of the roles whose rights this role's users inherit (roles holding it in their ``roles``), by name."""
    where = {"roles": _pointer(ROLE, role_id)}
    return data_browser.data_page(app=app, class_name=ROLE, where=where, sort="name", cursor=cursor,
                                  limit=ROLES_LISTED)  # fmt: skip


def _inherits_from(app: App, start_id: str, target_id: str) -> bool:
    """Whether ``target_id`` is ``start_id`` or reachable from it through ``roles`` relations."""
    seen, frontier = {start_id}, [start_id]
    while frontier and target_id not in seen:
        if len(seen) > MAX_ROLE_WALK:
            raise DataInputError(f"The roles nest more than {MAX_ROLE_WALK} deep; nest fewer before adding more.")
        parent = frontier.pop()
        where = {"$relatedTo": {"object": _pointer(ROLE, parent), "key": "roles"}}
        for child in _find(app, ROLE, {"where": where, "keys": "objectId", "limit": MAX_ROLE_WALK + 1}):
            if child["objectId"] not in seen:
                seen.add(child["objectId"])
                frontier.append(child["objectId"])
    return target_id in seen


def role_child_add(*, app: App, role_id: str, child_name: str) -> None:
    """Let the users of the role named ``child_name`` inherit this role's rights; a cycle is refused."""
    matches = _find(app, ROLE, {"where": {"name": child_name.strip()}, "limit": 1})
    if not matches:
        raise DataInputError(f"No role named {child_name.strip()!r}.")
    child_id = matches[0]["objectId"]
    role_get(app=app, role_id=role_id)  # 101 for an id that is not a role of this app
    if _inherits_from(app, child_id, role_id):
        raise DataInputError(
            f"{child_name.strip()!r} already includes this role (or is it): adding it would make a cycle."
        )
    body = {"roles": {"__op": "AddRelation", "objects": [_pointer(ROLE, child_id)]}}
    data_browser.data_object_update(app=app, class_name=ROLE, object_id=role_id, body=body)


def role_child_remove(*, app: App, role_id: str, child_id: str) -> None:
    body = {"roles": {"__op": "RemoveRelation", "objects": [_pointer(ROLE, child_id)]}}
    data_browser.data_object_update(app=app, class_name=ROLE, object_id=role_id, body=body)
