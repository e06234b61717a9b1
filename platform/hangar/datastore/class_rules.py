"""Per-class rules: what a class needs beyond the generic data API, registered by its owner.

The datastore's write and read paths treat every class alike and ask this registry for
the rest: identity registers ``_User``, ``_Session`` and ``_Role`` at start-up
(``hangar.identity.apps``), later capabilities register their own classes the same way.
So the datastore never imports identity (or messaging, or cloud code), and a system class
is never a branch in ``objects.py``.

Fail closed: a class whose rules guard secrets (a ``_User`` password must be hashed, a
``_Session`` must not be minted by a client) is listed in ``REQUIRED``; asking for its
rules before they are registered raises instead of silently writing it as a plain class.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from psycopg.errors import UniqueViolation

from hangar.caller import Caller
from hangar.parse_errors import DUPLICATE_VALUE, ParseError

# Classes that must never be written without their owner's rules.
REQUIRED = frozenset({"_User", "_Session", "_Role", "_JobStatus", "_JobSchedule", "_Audience", "_PushStatus"})


@dataclass
class PreparedWrite:
    """A write after its class rules: the cleaned body and internal fields set beside it.

    Internal fields (hashes, counters, tokens) are stored but never echoed, published or
    handed to a hook; an owner may subclass this to carry what its ``after_*`` step needs.
    """

    body: dict[str, Any]
    internal: dict[str, Any] = field(default_factory=dict)


class ClassRules:
    """The rules of a plain class: none. Owners override what their class needs."""

    # Whether writes set internal fields (``PreparedWrite.internal``): reads then strip them.
    stores_internal_fields: bool = False
    # Fields nobody but the object itself (a ``_User`` reading its own row) or master sees.
    owner_only_fields: frozenset[str] = frozenset()
    # Protected fields merged into every CLP of the class (Parse Server's server-wide defaults).
    default_protected_fields: dict[str, list[str]] = {}
    # Pointer fields that always restrict a client to its own objects, whatever the CLP says
    # (``_Session``: ``user``); None when the CLP decides alone.
    client_owner_fields: list[str] | None = None

    def client_access_check(self, *, operation: str, caller: Caller) -> None:
        """Raise when no CLP may let a client (not master) run ``operation`` on the class."""
        return None

    async def resolve_create(self, *, caller: Caller, body: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        """The body to create, and the objectId of an existing object this create updates instead, if any."""
        return body, None

    def client_update_condition(self, *, caller: Caller, body: dict[str, Any], params: list[Any]) -> str:
        """`` AND ...`` narrowing which objects a client's update may reach ("" for none)."""
        return ""

    async def before_create(self, *, caller: Caller, body: dict[str, Any], object_id: str) -> PreparedWrite | None:
        return None

    async def before_update(self, *, caller: Caller, object_id: str, body: dict[str, Any]) -> PreparedWrite | None:
        return None

    def before_delete(self, *, caller: Caller, object_id: str) -> None:
        return None

    async def after_create(self, *, caller: Caller, object_id: str, write: PreparedWrite) -> dict[str, Any]:
        """Runs after the commit; returns fields added to the response (e.g. a new session token)."""
        return {}

    async def after_update(self, *, caller: Caller, object_id: str, write: PreparedWrite) -> dict[str, Any]:
        return {}

    async def after_delete(self, *, caller: Caller, object_id: str) -> None:
        """Runs after the commit, with the caller whose delete it was (for what the owner writes next)."""
        return None

    async def changed(self, app_pk: int) -> None:
        """After any committed write to the class (objects, purge): drop what caches derived from it."""
        return None

    def unique_violation(self, exc: UniqueViolation) -> ParseError | None:
        """The Parse error for a unique index of this class, or None if the index is not the class's."""
        return None


_PLAIN = ClassRules()
_registry: dict[str, ClassRules] = {}


def register_class_rules(class_name: str, rules: ClassRules) -> None:
    _registry[class_name] = rules


def class_rules(class_name: str) -> ClassRules:
    rules = _registry.get(class_name)
    if rules is not None:
        return rules
    if class_name in REQUIRED:
        raise RuntimeError(f"no class rules registered for {class_name}: is its owning app installed?")
    return _PLAIN


def unique_violation_error(class_name: str, exc: UniqueViolation) -> ParseError:
    """Map a unique index violation to the class's Parse error (137 when the class does not say)."""
    error = class_rules(class_name).unique_violation(exc)
    if error is not None:
        return error
    return ParseError(DUPLICATE_VALUE, "A duplicate value for a field with unique values was provided")
