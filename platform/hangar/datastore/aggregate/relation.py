"""The rows flowing between pipeline stages, and what every stage needs to compile.

Each stage wraps the SQL of the rows before it in a sub-select, so the whole pipeline
is one statement. Every relation has the columns of ``datastore_object`` that the
query compiler reads (``object_id, data, created_at, updated_at``), which is what lets
``$match`` reuse the compiler at any point of the pipeline:

* object rows (before any ``$group``/``$count``): the class's stored objects, typed by
  the class schema;
* documents (after ``$group``/``$count``): ``data`` holds the whole result document in
  wire form, ``object_id`` the group key when it is a string, and the field types are
  the ones the accumulators produced.

A relation that went through ``$sort`` also carries ``_pos``, its row number in that
order, so that the order survives later sub-selects (SQL does not promise that an
inner ORDER BY does).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hangar.datastore.query import QueryContext
from hangar.datastore.query.context import ClassSchema, CompileState, Scope, Sql
from hangar.parse_errors import INVALID_QUERY, ParseError

COLUMNS = "object_id, data, created_at, updated_at"
# The columns of a documents relation that do not exist there.
NO_DATES = "NULL::timestamptz AS created_at, NULL::timestamptz AS updated_at"


@dataclass(frozen=True)
class Projection:
    """A ``$project`` over object rows, applied again to the wire objects (system fields, relations)."""

    keys: frozenset[str]
    include: bool

    def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in obj.items() if (key in self.keys) == self.include}


@dataclass(frozen=True)
class Relation:
    sql: Sql
    fields: ClassSchema  # field name -> {"type": ...} of the rows
    grouped: bool = False  # documents of $group/$count rather than object rows
    ordered: bool = False  # has a _pos column
    projections: tuple[Projection, ...] = ()

    @property
    def columns(self) -> str:
        return f"{COLUMNS}, _pos" if self.ordered else COLUMNS

    @property
    def order_by(self) -> str:
        return " ORDER BY _pos" if self.ordered else ""


@dataclass(frozen=True)
class PipelineContext:
    app_pk: int
    class_name: str
    schemas: Mapping[str, ClassSchema]  # the app's schemas, for the query compiler

    def query_context(self, rel: Relation) -> QueryContext:
        """The compiler's context for rows of ``rel``: documents are typed by their own fields."""
        schemas = {**self.schemas, self.class_name: rel.fields} if rel.grouped else self.schemas
        return QueryContext(app_pk=self.app_pk, schemas=schemas, principals=None)

    def scope(self, rel: Relation) -> Scope:
        return Scope(CompileState(self.query_context(rel)), self.class_name, rel.fields)


def invalid(stage: str, detail: str) -> ParseError:
    """102 in Parse Server's words: ``Invalid parameter for query: group. Missing key _id``."""
    return ParseError(INVALID_QUERY, f"Invalid parameter for query: {stage.lstrip('$')}. {detail}")


def shown(value: Any) -> str:
    """A user value in an error message, cut short."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
