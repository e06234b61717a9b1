"""The identity classes' rules, registered into the datastore's per-class registry at start-up.

``_User`` and ``_Session`` delegate to ``hangar.identity.user_rules``; ``_Role`` writes
invalidate the per-process role caches. See ``hangar.datastore.class_rules`` for why
the datastore asks a registry instead of importing identity.
"""

from __future__ import annotations

from typing import Any

from psycopg.errors import UniqueViolation

from hangar.caller import Caller
from hangar.datastore.class_rules import ClassRules, PreparedWrite, register_class_rules
from hangar.identity import role_rules, user_rules
from hangar.identity.roles import roles_changed
from hangar.identity.sessions import sessions_changed
from hangar.parse_errors import INVALID_SESSION_TOKEN, ParseError


class UserRules(ClassRules):
    # Parse Server hides a user's linked providers from everyone but that user (reference §10.2)
    # and protects email by its server-wide default (reference §15.4).
    stores_internal_fields = True  # password hashes, lockout counters, email-flow tokens
    owner_only_fields = frozenset({"authData"})
    default_protected_fields = {"*": ["email"]}

    async def before_create(self, *, caller: Caller, body: dict[str, Any], object_id: str) -> PreparedWrite:
        return await user_rules.user_before_create(caller=caller, body=body, object_id=object_id)

    async def before_update(self, *, caller: Caller, object_id: str, body: dict[str, Any]) -> PreparedWrite:
        return await user_rules.user_before_update(caller=caller, object_id=object_id, body=body)

    def before_delete(self, *, caller: Caller, object_id: str) -> None:
        user_rules.user_before_delete(caller=caller, object_id=object_id)

    async def after_create(self, *, caller: Caller, object_id: str, write: PreparedWrite) -> dict[str, Any]:
        assert isinstance(write, user_rules.UserWrite)
        return await user_rules.user_after_create(caller=caller, object_id=object_id, write=write)

    async def after_update(self, *, caller: Caller, object_id: str, write: PreparedWrite) -> dict[str, Any]:
        assert isinstance(write, user_rules.UserWrite)
        return await user_rules.user_after_update(caller=caller, object_id=object_id, write=write)

    async def after_delete(self, *, caller: Caller, object_id: str) -> None:
        await user_rules.user_after_delete(caller=caller, object_id=object_id)

    def unique_violation(self, exc: UniqueViolation) -> ParseError:
        return user_rules.unique_violation_error(exc)


class SessionRules(ClassRules):
    # A client only ever reads and changes its own sessions: Parse Server's RestQuery and
    # RestWrite add ``user = caller`` to every client query of _Session, whatever the CLP or ACL.
    client_owner_fields = ["user"]

    def client_access_check(self, *, operation: str, caller: Caller) -> None:
        if not caller.user_id:
            raise ParseError(INVALID_SESSION_TOKEN, "Invalid session token")

    async def before_create(self, *, caller: Caller, body: dict[str, Any], object_id: str) -> None:
        user_rules.session_before_write(caller=caller, body=body, is_create=True)

    async def before_update(self, *, caller: Caller, object_id: str, body: dict[str, Any]) -> None:
        user_rules.session_before_write(caller=caller, body=body, is_create=False)

    async def changed(self, app_pk: int) -> None:
        # A deleted or changed session is refused at once in every process.
        await sessions_changed(app_pk)


class RoleRules(ClassRules):
    async def before_create(self, *, caller: Caller, body: dict[str, Any], object_id: str) -> None:
        role_rules.role_before_create(body=body)

    async def before_update(self, *, caller: Caller, object_id: str, body: dict[str, Any]) -> None:
        role_rules.role_before_update(body=body)

    async def changed(self, app_pk: int) -> None:
        await roles_changed(app_pk)


def register() -> None:
    register_class_rules("_User", UserRules())
    register_class_rules("_Session", SessionRules())
    register_class_rules("_Role", RoleRules())
