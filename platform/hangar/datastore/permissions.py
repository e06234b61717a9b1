"""Class-level permissions, pointer permissions and protected fields (reference §15).

``clp_check`` decides whether the caller may run an operation on a class at all. When
only pointer permissions grant it, it returns the pointer fields that restrict the
rows the caller may touch; callers turn those into a SQL condition with
``pointer_permission_condition``.

Parse Server also enforces a few rules on system classes in code, whatever their CLP
says (rest.js ``enforceRoleSecurity``, RestQuery's ``_Session`` rule); ``clp_check``
applies them first, so every route that checks a CLP (finds, gets, writes, sub-queries,
includes, batch sub-requests) applies them too.
"""

from __future__ import annotations

from typing import Any

from psycopg.types.json import Jsonb

from hangar.caller import Caller
from hangar.datastore.names import SYSTEM_CLASSES, is_valid_field_name
from hangar.datastore.schema_registry import ClassSchema
from hangar.parse_errors import INVALID_SESSION_TOKEN, OBJECT_NOT_FOUND, ParseError

OPERATION_FORBIDDEN = 119
_READ_OPERATIONS = {"get", "find", "count"}
_INSTALLATION_MASTER_ONLY = {"find": "find", "count": "find", "delete": "delete"}  # count is a find in Parse
_SESSION_OWNER_FIELDS = ["user"]


def _denied(operation: str, class_name: str) -> ParseError:
    return ParseError(OPERATION_FORBIDDEN, f"Permission denied for action {operation} on class {class_name}.")


def _system_class_check(class_name: str, operation: str, caller: Caller) -> None:
    """Parse Server's fixed rules for clients on system classes (the caller is not master)."""
    if class_name == "_Installation" and operation in _INSTALLATION_MASTER_ONLY:
        raise ParseError(
            OPERATION_FORBIDDEN,
            f"Clients aren't allowed to perform the {_INSTALLATION_MASTER_ONLY[operation]} operation "
            "on the installation collection.",
        )
    if class_name == "_Session" and not caller.user_id:
        raise ParseError(INVALID_SESSION_TOKEN, "Invalid session token")
    if operation == "addField" and class_name in SYSTEM_CLASSES:
        # Fields of system classes are the developer's to add (master key, /schemas, dashboard).
        raise _denied(operation, class_name)


def clp_check(schema: ClassSchema, operation: str, caller: Caller) -> list[str]:
    """Allow the operation, or raise. Returns pointer fields that restrict it ([] = unrestricted)."""
    if caller.is_master:
        return []
    _system_class_check(schema.class_name, operation, caller)
    pointer_fields = _clp_rule_check(schema, operation, caller)
    if schema.class_name == "_Session":
        # A client only ever reads and changes its own sessions: RestQuery and RestWrite add
        # ``user = caller`` to every client query of _Session, whatever the CLP or the ACL says.
        return _SESSION_OWNER_FIELDS
    return pointer_fields


def _clp_rule_check(schema: ClassSchema, operation: str, caller: Caller) -> list[str]:
    clp = schema.clp or {}
    rule = clp.get(operation)
    if rule is None:
        return []  # a missing operation key restricts nobody
    if rule.get("*") or any(rule.get(principal) for principal in caller.principals):
        return []
    if rule.get("requiresAuthentication"):
        if caller.user_id:
            return []
        raise ParseError(OBJECT_NOT_FOUND, "Permission denied, user needs to be authenticated.")
    legacy_key = "readUserFields" if operation in _READ_OPERATIONS else "writeUserFields"
    pointer_fields = list(rule.get("pointerFields") or []) + list(clp.get(legacy_key) or [])
    if pointer_fields and operation != "create":
        return pointer_fields
    raise _denied(operation, schema.class_name)


def pointer_permission_condition(
    pointer_fields: list[str], caller: Caller, schema: ClassSchema
) -> tuple[str, list[Any]]:
    """Rows where one of the fields points to (or, for arrays, contains) the caller."""
    if not caller.user_id:
        return "FALSE", []
    parts: list[str] = []
    params: list[Any] = []
    for name in pointer_fields:
        if not is_valid_field_name(name):
            continue  # CLPs are validated when set; never put an odd name into SQL text
        spec = schema.field_type(name) or {}
        if spec.get("type") == "Array":
            parts.append(f"data->'{name}' @> %s")
            params.append(Jsonb([{"__type": "Pointer", "className": "_User", "objectId": caller.user_id}]))
        else:
            parts.append(f"data->'{name}'->>'objectId' = %s")
            params.append(caller.user_id)
    if not parts:
        return "FALSE", []
    return "(" + " OR ".join(parts) + ")", params


def protected_fields_for(schema: ClassSchema, caller: Caller) -> set[str]:
    """Fields hidden from this caller: the intersection of every rule set that applies to it."""
    if caller.is_master:
        return set()
    rules: dict[str, list[str]] = (schema.clp or {}).get("protectedFields") or {}
    if schema.class_name == "_User":
        # Parse Server merges its server-wide default {"_User": {"*": ["email"]}} into the class's rules (§15.4).
        rules = {**rules, "*": sorted(set(rules.get("*", [])) | {"email"})}
    applicable = [rules["*"]] if "*" in rules else []
    if caller.user_id and "authenticated" in rules:
        applicable.append(rules["authenticated"])
    applicable += [rules[p] for p in caller.principals if p != "*" and p in rules]
    if not applicable:
        return set()
    hidden = set(applicable[0])
    for fields in applicable[1:]:
        hidden &= set(fields)
    return hidden
