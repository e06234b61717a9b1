"""Validation of class-level permission documents set through ``/schemas`` (reference §15.2).

Rules and messages follow Parse Server's SchemaController (every error is 107). A CLP
set through ``/schemas`` replaces the whole document, and operations it does not list
are stored as ``{}`` (master key only), as Parse Server stores them (reference §13.1).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from hangar.datastore.system_classes import DEFAULT_FIELDS
from hangar.parse_errors import INVALID_JSON, ParseError

OPERATIONS = ("find", "count", "get", "create", "update", "delete", "addField")
POINTER_LISTS = ("readUserFields", "writeUserFields")
CLP_KEYS = (*OPERATIONS, *POINTER_LISTS, "protectedFields")
# A user id as Parse Server generates them (custom object ids are not supported).
_USER_ID = re.compile(r"[A-Za-z0-9]+")  # always fullmatch: "$" would allow a trailing newline
_PERMISSION_KEY = re.compile(r"\*|requiresAuthentication|pointerFields|role:.*", re.DOTALL)
_PROTECTED_KEY = re.compile(r"\*|authenticated|role:.*|userField:.*", re.DOTALL)


def js_string(value: Any) -> str:
    """``String(value)`` as JavaScript writes it: Parse Server's messages interpolate values that way."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ",".join("" if item is None else js_string(item) for item in value)
    if isinstance(value, dict):
        return "[object Object]"
    return str(value)


def _error(message: str) -> ParseError:
    return ParseError(INVALID_JSON, message)


def _check_pointer_field(name: Any, fields: dict[str, dict[str, Any]], operation: str) -> None:
    """Pointer permissions name Pointer<_User> or Array fields of the class."""
    spec = fields.get(name) if isinstance(name, str) else None
    if spec is None or not (
        (spec.get("type") == "Pointer" and spec.get("targetClass") == "_User") or spec.get("type") == "Array"
    ):
        raise _error(f"'{js_string(name)}' is not a valid column for class level pointer permissions {operation}")


def _check_protected_fields(rules: dict[str, Any], fields: dict[str, dict[str, Any]]) -> None:
    for entity, names in rules.items():
        if not (_PROTECTED_KEY.fullmatch(entity) or _USER_ID.fullmatch(entity)):
            raise _error(f"'{entity}' is not a valid key for class level permissions")
        if not isinstance(names, list):
            raise _error(
                f"'{js_string(names)}' is not a valid value for protectedFields[{entity}] - expected an array."
            )
        for name in names:
            if name in DEFAULT_FIELDS:
                raise _error(f"Default field '{js_string(name)}' can not be protected")
            if not isinstance(name, str) or name not in fields:
                raise _error(f"Field '{js_string(name)}' in protectedFields:{entity} does not exist")


def _check_operation(operation: str, rule: dict[str, Any], fields: dict[str, dict[str, Any]]) -> None:
    for entity, permit in rule.items():
        if not (_PERMISSION_KEY.fullmatch(entity) or _USER_ID.fullmatch(entity)):
            raise _error(f"'{entity}' is not a valid key for class level permissions")
        if entity == "pointerFields":
            if not isinstance(permit, list):
                raise _error(
                    f"'{js_string(permit)}' is not a valid value for {operation}[{entity}] - expected an array."
                )
            for name in permit:
                _check_pointer_field(name, fields, operation)
        elif permit is not True:
            raise _error(
                f"'{js_string(permit)}' is not a valid value for class level permissions "
                f"{operation}:{entity}:{js_string(permit)}"
            )


def clp_validate(clp: Any, fields: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Validate a CLP against the class's fields; return it as stored (unlisted operations = master only)."""
    if not isinstance(clp, dict):
        raise _error(f"'{js_string(clp)}' is not a valid value for class level permissions - must be an object")
    for key, value in clp.items():
        if key not in CLP_KEYS:
            raise _error(f"{key} is not a valid operation for class level permissions")
        if key in POINTER_LISTS:
            if not isinstance(value, list):
                raise _error(
                    f"'{js_string(value)}' is not a valid value for class level permissions {key} - must be an array"
                )
            for name in value:
                _check_pointer_field(name, fields, key)
            continue
        if not isinstance(value, dict):
            raise _error(
                f"'{js_string(value)}' is not a valid value for class level permissions {key} - must be an object"
            )
        if key == "protectedFields":
            _check_protected_fields(value, fields)
        else:
            _check_operation(key, value, fields)
    stored: dict[str, Any] = {operation: {} for operation in OPERATIONS}
    stored["protectedFields"] = {}
    stored.update(copy.deepcopy(clp))
    return stored
