"""The data browser's typed cell editors: the ACL editor, the pointer picker and the file picker.

Each turns what a developer picked into the Parse value the REST API takes and writes it
through the same datastore services (``data_browser.data_object_update``), so the value
gets the API's validation, the class's triggers and the change feed. Users and roles
picked by name are looked up in this app only; a name that matches nothing is refused
rather than written as a grant to no one.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

from asgiref.sync import async_to_sync

from hangar.files.services import file_delete, file_upload
from hangar.parse_errors import ParseError
from tenants import data_browser
from tenants.data_browser import DataInputError
from tenants.models import App

PUBLIC = "*"
ROLE_PREFIX = "role:"
POINTER_RESULTS = 10
POINTER_SEARCH_FIELDS = 3  # String columns of the target class searched by prefix, besides objectId
ACCESS = {"read": (True, False), "write": (False, True), "read-write": (True, True)}
_OBJECT_ID = re.compile(r"[A-Za-z0-9_]{1,64}")


@dataclass(frozen=True)
class AclEntry:
    principal: str  # "*", "role:Name" or a user id
    label: str  # "Public", "role:Name" or the user's username
    read: bool
    write: bool


@dataclass(frozen=True)
class AclPicks:
    """What the ACL editor submitted: the rights kept per principal and the user and role added."""

    principals: list[str]
    readers: set[str]
    writers: set[str]
    new_user: str = ""  # a username or objectId
    new_user_access: str = "read"
    new_role: str = ""  # a role name
    new_role_access: str = "read"


def _find(app: App, class_name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    return data_browser.master_find(app, class_name, params)


def acl_entries(*, app: App, acl: dict[str, Any] | None) -> list[AclEntry]:
    """The ACL as editor rows: public first, then roles, then users by username (one lookup for all).

    An object without an ACL is readable and writable by anyone (Parse), so its Public row shows both.
    """
    if acl is None:
        acl = {PUBLIC: {"read": True, "write": True}}
    user_ids = [key for key in acl if key != PUBLIC and not key.startswith(ROLE_PREFIX)]
    names = {}
    if user_ids:
        params = {"where": {"objectId": {"$in": user_ids}}, "keys": "username", "limit": len(user_ids)}
        users = _find(app, "_User", params)
        names = {user["objectId"]: str(user.get("username") or user["objectId"]) for user in users}
    public = acl.get(PUBLIC) or {}
    rows = [AclEntry(PUBLIC, "Public (anyone)", public.get("read") is True, public.get("write") is True)]
    for key in sorted(acl, key=lambda key: (not key.startswith(ROLE_PREFIX), key)):
        if key == PUBLIC:
            continue
        rights = acl[key] if isinstance(acl[key], dict) else {}
        label = key if key.startswith(ROLE_PREFIX) else names.get(key, f"{key} (no such user)")
        rows.append(AclEntry(key, label, rights.get("read") is True, rights.get("write") is True))
    return rows


def _user_id(app: App, text: str) -> str:
    """The objectId of the app's user with this username (or objectId); refused when there is none."""
    text = text.strip()
    where: dict[str, Any] = {"username": text}
    if _OBJECT_ID.fullmatch(text):
        where = {"$or": [{"username": text}, {"objectId": text}]}
    users = _find(app, "_User", {"where": where, "keys": "username", "limit": 1})
    if not users:
        raise DataInputError(f"No user named {text!r} (or with that objectId) in this app.")
    return str(users[0]["objectId"])


def _role_key(app: App, name: str) -> str:
    name = name.strip().removeprefix(ROLE_PREFIX)
    if not _find(app, "_Role", {"where": {"name": name}, "keys": "name", "limit": 1}):
        raise DataInputError(f"No role named {name!r} in this app; create it on the Roles page first.")
    return ROLE_PREFIX + name


def _rights(read: bool, write: bool) -> dict[str, bool]:
    return {**({"read": True} if read else {}), **({"write": True} if write else {})}


def acl_from_picks(*, app: App, picks: AclPicks) -> dict[str, Any]:
    """The Parse ACL the editor's picks stand for; a principal left with no right is dropped."""
    acl: dict[str, Any] = {}
    for principal in picks.principals:
        if principal != PUBLIC and not principal.startswith(ROLE_PREFIX) and not _OBJECT_ID.fullmatch(principal):
            raise DataInputError(f"{principal!r} is not a user id, role:Name or * (public).")
        rights = _rights(principal in picks.readers, principal in picks.writers)
        if rights:
            acl[principal] = rights
    for text, access, key_of in (
        (picks.new_user, picks.new_user_access, _user_id),
        (picks.new_role, picks.new_role_access, _role_key),
    ):
        if text.strip():
            if access not in ACCESS:
                raise DataInputError("Access is read, write or read-write.")
            acl[key_of(app, text)] = _rights(*ACCESS[access])
    return acl


def pointer_search(*, app: App, target_class: str, text: str) -> list[dict[str, Any]]:
    """Objects of the target class whose objectId or first String columns start with ``text``."""
    fields = data_browser.data_class_get(app=app, class_name=target_class)["fields"]
    searched = [name for name, spec in fields.items() if spec["type"] == "String" and not name.startswith("_")]
    searched = [name for name in searched if name not in ("sessionToken", "password")][:POINTER_SEARCH_FIELDS]
    text = text.strip()
    params: dict[str, Any] = {"order": "-createdAt", "limit": POINTER_RESULTS}
    if text:
        prefix = {"$regex": "^" + re.escape(text)}
        params["where"] = {"$or": [{name: prefix} for name in ["objectId", *searched]]}
    params["keys"] = ",".join(searched) or "objectId"
    return [
        {"objectId": row["objectId"], "label": " · ".join(str(row[name]) for name in searched if row.get(name))}
        for row in _find(app, target_class, params)
    ]


async def _async(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """An uploaded file's chunks (in memory, or a temporary file Django wrote) as the files service reads them."""
    for chunk in chunks:
        yield chunk


def file_attach(
    *, app: App, class_name: str, object_id: str, field_name: str, filename: str, content_type: str | None,
    chunks: Iterator[bytes], size: int | None,
) -> dict[str, Any]:  # fmt: skip
    """Upload a file as ``POST /files/:name`` with the master key would and point the File column at it.

    When the object update is refused, the just-stored file is deleted again: no orphan.
    """
    caller = data_browser.master_caller(app)
    uploaded = async_to_sync(file_upload)(
        caller=caller, filename=filename, content_type=content_type, chunks=_async(chunks), declared_size=size
    )
    value = {"__type": "File", "name": uploaded.name}
    try:
        return data_browser.data_object_update(
            app=app, class_name=class_name, object_id=object_id, body={field_name: value}
        )
    except ParseError:
        async_to_sync(file_delete)(caller=caller, name=uploaded.name)
        raise
