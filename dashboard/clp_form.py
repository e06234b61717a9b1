"""The class-level permissions form: a CLP as rows of checkboxes and lists, and back to the JSON Parse stores.

One row per operation (public, signed-in users, roles, user ids, pointer fields), the
pointer-permission lists, and protected fields per scope. The form only translates: the
CLP it builds goes through the schema service, which validates it exactly as
``PUT /schemas/:className`` does (unknown users are fine, unknown fields are 111).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import QueryDict

from hangar.datastore.clp import OPERATIONS

PROTECTED_ROWS_EMPTY = 2  # blank protected-field rows offered under the existing ones
OPERATION_LABELS = {
    "get": "Get (by id)", "find": "Find", "count": "Count", "create": "Create", "update": "Update",
    "delete": "Delete", "addField": "Add field",
}  # fmt: skip


@dataclass(frozen=True)
class OperationRow:
    operation: str
    label: str
    public: bool
    authenticated: bool
    roles: str  # comma-separated role names
    users: str  # comma-separated user ids
    pointer_fields: str  # comma-separated Pointer<_User>/Array fields


@dataclass(frozen=True)
class ClpForm:
    operations: list[OperationRow]
    read_user_fields: str
    write_user_fields: str
    protected: list[tuple[str, str]]  # (scope, comma-separated fields), then blank rows


def _names(text: str | None) -> list[str]:
    return [name.strip() for name in (text or "").split(",") if name.strip()]


def _joined(names: Any) -> str:
    return ", ".join(str(name) for name in names) if isinstance(names, list) else ""


def form_of(clp: dict[str, Any]) -> ClpForm:
    """The form's rows for a stored CLP (an operation absent or ``{}`` is master-key only)."""
    rows = []
    for operation in OPERATIONS:
        rule = clp.get(operation) or {}
        roles = [key.removeprefix("role:") for key in rule if key.startswith("role:")]
        users = [key for key in rule if key not in ("*", "requiresAuthentication", "pointerFields")
                 and not key.startswith("role:")]  # fmt: skip
        rows.append(OperationRow(
            operation=operation, label=OPERATION_LABELS[operation], public=rule.get("*") is True,
            authenticated=rule.get("requiresAuthentication") is True, roles=", ".join(roles), users=", ".join(users),
            pointer_fields=_joined(rule.get("pointerFields")),
        ))  # fmt: skip
    protected = [(scope, _joined(fields)) for scope, fields in (clp.get("protectedFields") or {}).items()]
    return ClpForm(
        operations=rows, read_user_fields=_joined(clp.get("readUserFields")),
        write_user_fields=_joined(clp.get("writeUserFields")),
        protected=protected + [("", "")] * PROTECTED_ROWS_EMPTY,
    )  # fmt: skip


def clp_of(data: QueryDict) -> dict[str, Any]:
    """The CLP the submitted form stands for (checked by the schema service when saved)."""
    clp: dict[str, Any] = {}
    for operation in OPERATIONS:
        rule: dict[str, Any] = {}
        if data.get(f"{operation}-public"):
            rule["*"] = True
        if data.get(f"{operation}-auth"):
            rule["requiresAuthentication"] = True
        rule.update({f"role:{name}": True for name in _names(data.get(f"{operation}-roles"))})
        rule.update({user_id: True for user_id in _names(data.get(f"{operation}-users"))})
        pointers = _names(data.get(f"{operation}-pointers"))
        if pointers:
            rule["pointerFields"] = pointers
        clp[operation] = rule
    for key, name in (("readUserFields", "read-user-fields"), ("writeUserFields", "write-user-fields")):
        if _names(data.get(name)):
            clp[key] = _names(data.get(name))
    scopes, fields = data.getlist("protected-scope"), data.getlist("protected-fields")
    clp["protectedFields"] = {
        scope.strip(): _names(fields[index] if index < len(fields) else "")
        for index, scope in enumerate(scopes)
        if scope.strip()
    }
    return clp
