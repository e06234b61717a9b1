"""The compiler's inputs and outputs, SQL fragments, and the per-compilation state.

A fragment (``Sql``) is SQL text with ``%s`` placeholders plus its parameters in order,
so fragments compose by concatenation and the parameter order can never drift from
the placeholder order. Every fragment is a self-contained boolean or value expression;
combinators parenthesise their operands.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple, Protocol

from hangar.parse_errors import INVALID_QUERY, ParseError

# Guards for the database: a where is user input, and its size decides the SQL's size.
MAX_DEPTH = 16
MAX_NODES = 5000

FieldSchema = Mapping[str, Any]
ClassSchema = Mapping[str, FieldSchema]


class ReadAccess(Protocol):
    """What a non-master caller may read of other classes, for sub-queries and ``$relatedTo`` (no I/O).

    Every class a query reads besides its own obeys the same rules as a direct query of
    that class (reference §15): its CLP, pointer permissions, ACL and hidden fields.
    """

    def readable_rows(self, class_name: str, operation: str) -> Sql:
        """A condition on a row of ``class_name`` (unqualified columns) true when the caller may read it.

        Raises the CLP's ParseError when the caller may not run ``operation`` on the class at all.
        """
        ...

    def unqueryable_fields(self, class_name: str) -> frozenset[str]:
        """Top-level fields of ``class_name`` the caller may neither constrain, sort nor select on."""
        ...


@dataclass(frozen=True)
class QueryContext:
    app_pk: int
    # class_name -> field name -> {"type": ..., "targetClass": ...}; includes objectId/createdAt/updatedAt/ACL
    schemas: Mapping[str, ClassSchema]
    # The caller's ACL groups ("*", user id, "role:Name"...); None = master key, no ACL filtering.
    principals: tuple[str, ...] | None
    # The caller's read rules for every class (None with the master key). Without it, a non-master
    # query's sub-queries apply the ACL alone (compiler unit tests).
    access: ReadAccess | None = None


@dataclass(frozen=True)
class CompiledQuery:
    where_sql: str
    params: list[Any]
    order_sql: str | None
    order_params: list[Any]
    # Classes read by $inQuery/$notInQuery/$select/$dontSelect, for the caller's CLP checks.
    subquery_classes: frozenset[str] = frozenset()
    # (class name, top-level field) pairs the where, its sub-queries and the order read, so the
    # caller can refuse protected fields (a $select key or a comparison can reveal a value).
    referenced_fields: frozenset[tuple[str, str]] = frozenset()
    # The $text relevance (sum of ts_rank), for `keys=$score` (None without $text).
    score_sql: str | None = None
    score_params: list[Any] = field(default_factory=list)


class Sql(NamedTuple):
    text: str
    params: tuple[Any, ...] = ()


TRUE = Sql("TRUE")
FALSE = Sql("FALSE")


def sql(text: str, *params: Any) -> Sql:
    return Sql(text, params)


def concat(*parts: Sql | str) -> Sql:
    """Join fragments and plain SQL text (which must hold no user data) into one fragment."""
    texts: list[str] = []
    params: list[Any] = []
    for part in parts:
        if isinstance(part, str):
            texts.append(part)
        else:
            texts.append(part.text)
            params.extend(part.params)
    return Sql("".join(texts), tuple(params))


def and_all(parts: Iterable[Sql]) -> Sql:
    kept = [part for part in parts if part != TRUE]
    if any(part == FALSE for part in kept):
        return FALSE
    return _join(kept, " AND ", TRUE)


def or_all(parts: Iterable[Sql]) -> Sql:
    kept = [part for part in parts if part != FALSE]
    if any(part == TRUE for part in kept):
        return TRUE
    return _join(kept, " OR ", FALSE)


def negate(part: Sql) -> Sql:
    """NOT that also holds where ``part`` is NULL (a missing field): Parse's $ne/$nin/$nor match missing."""
    if part == TRUE:
        return FALSE
    if part == FALSE:
        return TRUE
    return concat("((", part, ") IS NOT TRUE)")


def _join(parts: list[Sql], glue: str, empty: Sql) -> Sql:
    if not parts:
        return empty
    if len(parts) == 1:
        return parts[0]
    pieces: list[Sql | str] = ["("]
    for index, part in enumerate(parts):
        pieces.extend([glue if index else "", "(", part, ")"])
    pieces.append(")")
    return concat(*pieces)


@dataclass
class CompileState:
    """What one compilation accumulates across its scopes."""

    context: QueryContext
    nodes: int = 0
    distance_sorts: list[Sql] = field(default_factory=list)
    text_ranks: list[Sql] = field(default_factory=list)
    subquery_classes: set[str] = field(default_factory=set)
    referenced_fields: set[tuple[str, str]] = field(default_factory=set)

    def charge(self, count: int = 1) -> None:
        self.nodes += count
        if self.nodes > MAX_NODES:
            raise ParseError(INVALID_QUERY, f"Query is too complex: more than {MAX_NODES} constraints and list items.")


@dataclass(frozen=True)
class Scope:
    """Where a where object is being compiled: its class, nesting depth and whether it is the outer query."""

    state: CompileState
    class_name: str
    fields: ClassSchema
    depth: int = 0
    outer: bool = True

    @property
    def context(self) -> QueryContext:
        return self.state.context

    def field_schema(self, name: str) -> FieldSchema | None:
        schema = self.fields.get(name)
        return schema if isinstance(schema, Mapping) else None

    def nested(self) -> Scope:
        """The scope of a where nested inside this one ($or/$and/$nor)."""
        return self._deeper(replace(self, depth=self.depth + 1))

    def subquery(self, class_name: str) -> Scope:
        """The scope of a sub-query's where: another class, never the outer query's ordering."""
        fields = self.context.schemas.get(class_name) or {}
        self.state.subquery_classes.add(class_name)
        return self._deeper(Scope(self.state, class_name, fields, self.depth + 1, outer=False))

    @staticmethod
    def _deeper(scope: Scope) -> Scope:
        if scope.depth > MAX_DEPTH:
            raise ParseError(INVALID_QUERY, f"Query is nested too deeply: the maximum depth is {MAX_DEPTH}.")
        return scope
