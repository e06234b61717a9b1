"""Field names in a where/order, and the SQL expression of a field by its schema type.

Only names that passed validation reach SQL text, as single-quoted literals: each
dotted segment matches ``^[A-Za-z][A-Za-z0-9_]*$`` (or is one of a few internal
fields a master-key query may use), so a quote can never occur inside them. Keeping
names in the text (not in parameters) is what lets expression indexes such as
``((data->>'score')::numeric)`` match (docs/datastore.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hangar.datastore.query.context import Scope
from hangar.parse_errors import INVALID_KEY_NAME, INVALID_QUERY, OPERATION_FORBIDDEN, ParseError

# fullmatch, never match with $: "$" also matches before a trailing newline.
SEGMENT = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
# Internal fields Parse Server lets the master key query (password reset, email
# verification, lockout); never exposed to clients.
MASTER_INTERNAL_FIELDS = frozenset(
    {
        "_perishable_token",
        "_perishable_token_expires_at",
        "_email_verify_token",
        "_email_verify_token_expires_at",
        "_account_lockout_expires_at",
        "_failed_login_count",
        "_password_changed_at",
    }
)
COLUMNS = {"objectId": "object_id", "createdAt": "created_at", "updatedAt": "updated_at"}
DATE_COLUMNS = frozenset({"created_at", "updated_at"})
# to_char pattern of the wire date encoding (double quotes are to_char's literal text).
_ISO_TO_CHAR = """'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'"""


@dataclass(frozen=True)
class FieldRef:
    """A validated field (or dotted path) of the class being queried, with its schema type."""

    name: str
    path: tuple[str, ...]
    type: str | None = None  # schema type; None for dotted paths and fields not in the schema
    target_class: str | None = None
    column: str | None = None  # the system column holding objectId/createdAt/updatedAt

    @property
    def root(self) -> str:
        return self.path[0]

    @property
    def dotted(self) -> bool:
        return len(self.path) > 1

    @property
    def is_date_column(self) -> bool:
        return self.column in DATE_COLUMNS

    @property
    def json(self) -> str:
        """The value as jsonb, in the wire encoding."""
        if self.column == "object_id":
            return "to_jsonb(object_id)"
        if self.column:
            return f"jsonb_build_object('__type', 'Date', 'iso', {self.text})"
        if self.dotted:
            return f"(data #> '{{{','.join(self.path)}}}')"
        return f"(data->'{self.root}')"

    @property
    def text(self) -> str:
        """The value as text (strings unquoted); for dates the ISO string."""
        if self.column == "object_id":
            return "object_id"
        if self.column:
            return f"to_char({self.column} AT TIME ZONE 'UTC', {_ISO_TO_CHAR})"
        if self.dotted:
            return f"(data #>> '{{{','.join(self.path)}}}')"
        return f"(data->>'{self.root}')"

    @property
    def number(self) -> str:
        return f"{self.text}::numeric"

    def member(self, key: str) -> str:
        """Text of one member of an object-valued field (``key`` is a constant of ours)."""
        return f"({self.json}->>'{key}')"

    @property
    def exists(self) -> str:
        if self.column:
            return "TRUE"
        if self.dotted:  # explicit JSON nulls inside objects count as absent, as on Parse/Postgres
            return f"({self.text} IS NOT NULL)"
        return f"(data ? '{self.root}')"


def check_where_key(scope: Scope, key: str) -> tuple[str, ...]:
    """Validate a where key and return its path (105 ``Invalid key name``; 102 for ACL)."""
    segments = tuple(key.split("."))
    if segments[0] == "ACL":
        raise ParseError(INVALID_QUERY, "Cannot query on ACL.")
    if _is_internal(scope, segments) or all(SEGMENT.fullmatch(segment) for segment in segments):
        return segments
    raise ParseError(INVALID_KEY_NAME, f"Invalid key name: {key}")


def check_field_name(name: str) -> tuple[str, ...]:
    """Validate a field path used in order or as a $select key (105 ``Invalid field name``)."""
    segments = tuple(name.split("."))
    if all(SEGMENT.fullmatch(segment) for segment in segments):
        return segments
    raise ParseError(INVALID_KEY_NAME, f"Invalid field name: {name}.")


def _is_internal(scope: Scope, segments: tuple[str, ...]) -> bool:
    return scope.context.principals is None and len(segments) == 1 and segments[0] in MASTER_INTERNAL_FIELDS


def note_field_read(scope: Scope, root: str) -> None:
    """Record that the query reads ``root`` of the scope's class; refuse a field hidden from the caller.

    A constraint, a sort or a ``$select`` key on a hidden field is an oracle on its value
    (a ``$regex`` prefix search recovers it character by character), whatever the path
    syntax: every dotted path, sub-query and operator reaches its field through here.
    """
    scope.state.referenced_fields.add((scope.class_name, root))
    access = scope.context.access
    if access is not None and root in access.unqueryable_fields(scope.class_name):
        raise ParseError(OPERATION_FORBIDDEN, f"This user is not allowed to query {root} on class {scope.class_name}")


def field_ref(scope: Scope, name: str, path: tuple[str, ...]) -> FieldRef:
    """Type a validated path with the schema of the scope's class."""
    note_field_read(scope, path[0])
    if len(path) == 1 and path[0] in COLUMNS:
        return FieldRef(name, path, type="Date" if path[0] != "objectId" else "String", column=COLUMNS[path[0]])
    if len(path) > 1:
        return FieldRef(name, path)
    schema = scope.field_schema(path[0])
    if schema is None:
        return FieldRef(name, path)
    field_type = schema.get("type")
    target = schema.get("targetClass")
    return FieldRef(
        name,
        path,
        type=field_type if isinstance(field_type, str) else None,
        target_class=target if isinstance(target, str) else None,
    )


def where_field(scope: Scope, key: str) -> FieldRef:
    return field_ref(scope, key, check_where_key(scope, key))
