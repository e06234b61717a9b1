"""The rules of the ``_Role`` class (reference §10.7), whichever route writes a role.

A role's name is what ACLs and CLPs grant (``role:<name>``), so anyone able to mint a
role carrying a granted name would hold the grant. ``/roles``, ``/classes/_Role``, batch
sub-requests and transactions all reach these rules through the generic write path
(hangar.datastore.objects), so every syntax meets the same checks:

* a new role needs a name (Parse's alphabet) and an ACL (without one anyone could edit
  its members);
* a name never changes once saved, not even with the master key: a rename would move
  every grant of the old name, or take over those of the new one;
* names are unique per app. The partial unique index of migration 0008 enforces it, so
  two concurrent creates of one name cannot both win; the loser answers 137. No lookup
  is made beforehand: the index is the check, at no extra round trip.
"""

from __future__ import annotations

import re
from typing import Any

from hangar.parse_errors import INCORRECT_TYPE, OTHER_CAUSE, ParseError

# Longer names are refused: the unique index (migration 0008) covers names up to this many
# bytes, well below what a btree entry can hold (names are ASCII, so characters = bytes).
ROLE_NAME_MAX_LENGTH = 1024
# Parse's role name alphabet (Parse SDKs' ParseRole._validateName); \Z, not $, so a
# trailing newline is refused too.
_ROLE_NAME = re.compile(r"[0-9a-zA-Z\-_ ]+\Z")


def _name_keys(body: dict[str, Any]) -> list[str]:
    """Body keys that write ``name``: the field itself or a dotted path into it."""
    return [key for key in body if isinstance(key, str) and key.split(".", 1)[0] == "name"]


def role_name_check(name: Any) -> str:
    """Return a new role's name, or raise the error Parse gives for it."""
    if name is None or name == "":
        raise ParseError(INCORRECT_TYPE, "name is required.")
    if not isinstance(name, str):
        # The Parse SDKs' own code and wording for the rule they check client-side.
        raise ParseError(OTHER_CAUSE, "A role's name must be a String.")
    if not _ROLE_NAME.match(name):
        raise ParseError(OTHER_CAUSE, "A role's name can be only contain alphanumeric characters, _, -, and spaces.")
    if len(name) > ROLE_NAME_MAX_LENGTH:
        raise ParseError(OTHER_CAUSE, f"A role's name can be at most {ROLE_NAME_MAX_LENGTH} characters long.")
    return name


def role_before_create(*, body: dict[str, Any]) -> None:
    """Refuse a new ``_Role`` without a valid name or without an ACL (master included)."""
    role_name_check(body.get("name"))
    if len(_name_keys(body)) > 1:
        raise ParseError(OTHER_CAUSE, "A role's name must be a String.")
    acl = body.get("ACL")
    if acl is None or (isinstance(acl, dict) and acl.get("__op") == "Delete"):
        raise ParseError(INCORRECT_TYPE, "ACL is required.")


def role_before_update(*, body: dict[str, Any]) -> None:
    """Refuse any change to a saved role's name: set, ``__op``, dotted key, master key alike."""
    if _name_keys(body):
        raise ParseError(OTHER_CAUSE, "A role's name can only be set before it has been saved.")
