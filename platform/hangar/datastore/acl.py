"""ACL documents (reference §5.4): validation and their compiled read/write principal lists."""

from __future__ import annotations

from typing import Any

from hangar.parse_errors import INVALID_ACL, ParseError


def validate_acl(acl: Any) -> dict[str, dict[str, bool]]:
    """Return the ACL with only its true flags (as Parse Server stores it), or raise 123."""
    if not isinstance(acl, dict):
        raise ParseError(INVALID_ACL, "Invalid ACL.")
    cleaned: dict[str, dict[str, bool]] = {}
    for principal, permissions in acl.items():
        if not isinstance(principal, str) or not principal or principal == "*unresolved":
            raise ParseError(INVALID_ACL, "Invalid ACL.")
        if not isinstance(permissions, dict) or not set(permissions) <= {"read", "write"}:
            raise ParseError(INVALID_ACL, "Invalid ACL.")
        if any(not isinstance(flag, bool) for flag in permissions.values()):
            raise ParseError(INVALID_ACL, "Invalid ACL.")
        granted = {name: True for name, flag in permissions.items() if flag}
        if granted:
            cleaned[principal] = granted
    return cleaned


def acl_principals(acl: dict[str, dict[str, bool]] | None) -> tuple[list[str] | None, list[str] | None]:
    """(_rperm, _wperm) for an ACL; (None, None) when there is none (public read and write)."""
    if acl is None:
        return None, None
    readers = sorted(p for p, perms in acl.items() if perms.get("read"))
    writers = sorted(p for p, perms in acl.items() if perms.get("write"))
    return readers, writers
