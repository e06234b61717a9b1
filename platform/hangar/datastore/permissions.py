"""Class-level permissions, pointer permissions and protected fields (reference §15).

``clp_check`` decides whether the caller may run an operation on a class at all. When
only pointer permissions grant it, it returns the pointer fields that restrict the
rows the caller may touch; callers turn those into a SQL condition with
``pointer_permission_condition``.

Parse Server also enforces a few rules on system classes in code, whatever their CLP
says (rest.js ``enforceRoleSecurity``, RestQuery's ``_Session`` rule), registered as the class's rules
(``ClassRules.client_access_check``, ``client_owner_fields``); ``clp_check``
applies them first, so every route that checks a CLP (finds, gets, writes, sub-queries,
includes, batch sub-requests) applies them too.
"""

from __future__ import annotations

from typing import Any

from psycopg.types.json import Jsonb

from hangar.caller import Caller
from hangar.datastore.class_rules import class_rules
from hangar.datastore.names import SYSTEM_CLASSES, is_valid_field_name
from hangar.datastore.schema_registry import ClassSchema
from hangar.parse_errors import OBJECT_NOT_FOUND, OPERATION_FORBIDDEN, ParseError

_READ_OPERATIONS = {"get", "find", "count"}


def _denied(operation: str, class_name: str) -> ParseError:
    return ParseError(OPERATION_FORBIDDEN, f"Permission denied for action {operation} on class {class_name}.")


def clp_check(schema: ClassSchema, operation: str, caller: Caller) -> list[str]:
    """Allow the operation, or raise. Returns pointer fields that restrict it ([] = unrestricted)."""
    if caller.is_master:
        return []
    rules = class_rules(schema.class_name)
    # The class's fixed client rules first (Parse Server's for system classes), whatever the CLP says.
    rules.client_access_check(operation=operation, caller=caller)
    if operation == "addField" and schema.class_name in SYSTEM_CLASSES:
        # Fields of system classes are the developer's to add (master key, /schemas, dashboard).
        raise _denied(operation, schema.class_name)
    pointer_fields = _clp_rule_check(schema, operation, caller)
    return rules.client_owner_fields if rules.client_owner_fields is not None else pointer_fields


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
    defaults = class_rules(schema.class_name).default_protected_fields
    if defaults:
        # Parse Server merges its server-wide defaults (``{"_User": {"*": ["email"]}}``) into the class's rules (§15.4).
        rules = {**rules, **{who: sorted(set(rules.get(who, [])) | set(fields)) for who, fields in defaults.items()}}
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
