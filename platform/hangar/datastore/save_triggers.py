"""beforeSave on the one write path: what the trigger is shown, and how its changes join the client's.

Parse Server shows a beforeSave the object as it will be after the write (stored row merged with
the client's changes) and the stored row as ``original``. Whatever the trigger assigns or deletes
is folded back into the request body and goes through the same parsing, schema, CLP and
protected-field checks as the client's own values, so a trigger acting as the caller can write
nothing the caller could not (master aside, as for the client).
"""

from __future__ import annotations

from typing import Any

from hangar.caller import Caller
from hangar.datastore.hooks import hooks
from hangar.parse_errors import SCRIPT_FAILED, ParseError

# Read-only for a trigger: Parse Server ignores them too.
_UNCHANGEABLE = frozenset({"objectId", "createdAt", "updatedAt", "className"})
# Credentials never pass through a trigger: they are hashed/issued by the class rules only.
_CREDENTIALS = {"_User": frozenset({"password", "sessionToken", "authData"}), "_Session": frozenset({"sessionToken"})}


def _without_credentials(class_name: str, obj: dict[str, Any] | None) -> Any:
    hidden = _CREDENTIALS.get(class_name)
    if not hidden or obj is None:
        return obj
    return {key: value for key, value in obj.items() if key not in hidden}


def _trigger_fields(class_name: str, shown: dict[str, Any], returned: dict[str, Any]) -> dict[str, Any]:
    """The fields the trigger set or deleted, in the client's wire syntax."""
    changed: dict[str, Any] = {}
    for name in set(shown) | set(returned):
        if name in _UNCHANGEABLE:
            continue
        if name not in returned:
            changed[name] = {"__op": "Delete"}
        elif name not in shown or returned[name] != shown[name]:
            changed[name] = returned[name]
    refused = (set(changed) & _CREDENTIALS.get(class_name, frozenset())) | {n for n in changed if n.startswith("_")}
    if refused:
        raise ParseError(SCRIPT_FAILED, f"A beforeSave trigger cannot set {', '.join(sorted(refused))}.")
    return changed


async def before_save_body(
    *, caller: Caller, class_name: str, body: dict[str, Any], shown: dict[str, Any], original: dict[str, Any] | None
) -> tuple[dict[str, Any], set[str]]:
    """Run beforeSave; returns the body to write (client's, overridden by the trigger) and the fields it changed."""
    shown, original = _without_credentials(class_name, shown), _without_credentials(class_name, original)
    returned = await hooks().before_save(caller=caller, class_name=class_name, data=shown, original=original)
    changed = _trigger_fields(class_name, shown, returned)
    if not changed:
        return body, set()
    merged = {key: value for key, value in body.items() if key.split(".")[0] not in changed}
    merged.update(changed)
    return merged, set(changed)
