"""Declared indexes of a class (``indexes`` in ``/schemas``, reference §13.1) on the app's own partition.

``{"top": {"score": -1}}`` on class ``Game`` of app 7 becomes::

    CREATE INDEX CONCURRENTLY datastore_object_app7_game_top_<hash> ON datastore_object_app7
        (((data->>'score')::numeric) DESC NULLS LAST) WHERE class_name = 'Game'

Each field is indexed on the very expression the query compiler writes for its type
(``FieldRef`` in hangar.datastore.query.fields, ``order.py``; docs/datastore.md), with
the compiler's ``NULLS LAST``, so that the planner can use the index. The index is
partial on the class, like the compiler's own index tests, and lives on the app's
partition only: one app's indexes never cost another app anything.

Names and fields reach the DDL text only after validation: class names and field names
match ``^[A-Za-z][A-Za-z0-9_]*$`` (or are system classes) and SQL index names are built
here from ``[a-z0-9_]``.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from psycopg import AsyncConnection, sql
from psycopg.conninfo import make_conninfo
from psycopg.errors import Error as DatabaseError

from hangar.datastore.names import validate_class_name
from hangar.datastore.partitions import partition_name
from hangar.datastore.query.fields import COLUMNS, SEGMENT, FieldRef
from hangar.db_pool import data_plane_conninfo
from hangar.parse_errors import INVALID_QUERY, ParseError

log = logging.getLogger(__name__)

PRIMARY_INDEX = "_id_"  # Parse's name for the objectId index: here the partition's primary key
_INDEX_NAME = re.compile(r"[A-Za-z0-9_-]{1,128}")  # always fullmatch: "$" would allow a trailing newline
_SQL_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")
_TEXT_CONFIG = "english"  # the compiler's default $text configuration (query/text.py)


@dataclass
class IndexChanges:
    """What a ``/schemas`` request does to a class's indexes."""

    indexes: dict[str, dict[str, Any]]  # the declared indexes afterwards (Parse format)
    create: dict[str, str] = field(default_factory=dict)  # Parse name -> CREATE INDEX CONCURRENTLY ...
    drop: list[str] = field(default_factory=list)  # SQL names of indexes to drop

    @property
    def any(self) -> bool:
        return bool(self.create or self.drop)


def index_sql_name(app_pk: int, class_name: str, name: str) -> str:
    """The PostgreSQL name of a declared index: the partition, a readable part, and a hash that keeps it unique."""
    partition = partition_name("datastore_object", app_pk)
    digest = hashlib.sha256(f"{class_name}\x00{name}".encode()).hexdigest()[:10]
    readable = re.sub(r"[^a-z0-9_]", "_", f"{class_name}_{name}".lower())
    room = 63 - len(partition) - len(digest) - 2
    sql_name = f"{partition}_{readable[:room]}_{digest}"
    if not _SQL_NAME.fullmatch(sql_name):  # cannot happen; a guard for the DDL text
        raise ValueError(f"unsafe index name {sql_name!r}")
    return sql_name


def _error(message: str) -> ParseError:
    return ParseError(INVALID_QUERY, message)


def _btree_expression(name: str, spec: dict[str, Any]) -> str | None:
    """The compiler's expression for this field (None: no btree serves its queries)."""
    if name in COLUMNS:
        return 'object_id COLLATE "C"' if name == "objectId" else COLUMNS[name]
    ref = FieldRef(name, (name,), type=spec.get("type"))
    # Strings and dates compare and sort byte-wise (COLLATE "C") in ranges and ORDER BY;
    # pointers and files are looked up by equality, which the compiler writes without it.
    return {
        "String": f'{ref.text} COLLATE "C"',
        "Number": ref.number,
        "Date": f'{ref.member("iso")} COLLATE "C"',
        "Pointer": ref.member("objectId"),
        "File": ref.member("name"),
        "Boolean": ref.json,
        "Object": ref.json,
    }.get(str(spec.get("type")))


def _direction(name: str, direction: int) -> str:
    """The compiler sorts fields ``NULLS LAST`` both ways; the never-NULL columns without a NULLS clause (order.py)."""
    if direction != -1:
        return ""
    return " DESC" if name in COLUMNS else " DESC NULLS LAST"


def _columns(index_name: str, key: dict[str, Any], fields: dict[str, dict[str, Any]]) -> tuple[str, str]:
    """``(access method, column list)`` of a declared index; raises 102 for what cannot be indexed."""
    for name in key:
        if name not in fields:
            raise _error(f"Field {name} does not exist, cannot add index.")
        if not SEGMENT.fullmatch(name):
            raise _error(f"Invalid field name for an index: {name}.")
    if len(key) == 1:
        name, direction = next(iter(key.items()))
        kind = fields[name].get("type")
        if direction == "text":
            if kind != "String":
                raise _error(f"Index {index_name}: a text index needs a String field, {name} is {kind}.")
            return "gin", f"(to_tsvector('{_TEXT_CONFIG}'::regconfig, {FieldRef(name, (name,)).text}))"
        if kind == "Array":
            return "gin", f"({FieldRef(name, (name,)).json})"
    parts = []
    for name, direction in key.items():
        kind = fields[name].get("type")
        if direction == "text" or kind == "Array":
            raise _error(f"Index {index_name}: text indexes and Array fields cannot be combined with other fields.")
        expression = _btree_expression(name, fields[name])
        if expression is None:
            raise _error(f"Index {index_name}: field {name} of type {kind} cannot be indexed.")
        parts.append(f"({expression})" + _direction(name, direction))
    return "btree", ", ".join(parts)


def _check_key(index_name: str, key: Any) -> dict[str, Any]:
    if not isinstance(key, dict) or not key:
        raise _error(f'Index {index_name} must map field names to 1, -1 or "text".')
    for name, direction in key.items():
        if isinstance(direction, bool) or direction not in (1, -1, "text"):
            raise _error(f'Invalid index direction for {name} in index {index_name}: use 1, -1 or "text".')
    return {name: int(direction) if direction != "text" else "text" for name, direction in key.items()}


def create_statement(
    app_pk: int, class_name: str, index_name: str, key: dict[str, Any], fields: dict[str, dict[str, Any]]
) -> str:
    method, columns = _columns(index_name, key, fields)
    validate_class_name(class_name)
    return (
        f"CREATE INDEX CONCURRENTLY {index_sql_name(app_pk, class_name, index_name)} "
        f"ON {partition_name('datastore_object', app_pk)} USING {method} ({columns}) "
        f"WHERE class_name = '{class_name}'"
    )


def index_changes(
    *,
    app_pk: int,
    class_name: str,
    current: dict[str, dict[str, Any]],
    submitted: Any,
    fields: dict[str, dict[str, Any]],
) -> IndexChanges:
    """Validate submitted index changes against the class's fields (after this request's field changes).

    Indexes on fields that no longer exist are dropped too.
    """
    if submitted is not None and not isinstance(submitted, dict):
        raise _error("indexes must be an object.")
    indexes = {name: key for name, key in current.items() if all(f in fields for f in key)}
    changes = IndexChanges(indexes, drop=[index_sql_name(app_pk, class_name, n) for n in current if n not in indexes])
    for name, key in (submitted or {}).items():
        deleting = isinstance(key, dict) and key.get("__op") == "Delete"
        exists = name in indexes or name == PRIMARY_INDEX
        if exists and not deleting:
            raise _error(f"Index {name} exists, cannot update.")
        if not exists and deleting:
            raise _error(f"Index {name} does not exist, cannot delete.")
        if name == PRIMARY_INDEX:
            raise _error(f"Index {PRIMARY_INDEX} is the primary key and cannot be deleted.")
        if deleting:
            del indexes[name]
            changes.drop.append(index_sql_name(app_pk, class_name, name))
            continue
        if not _INDEX_NAME.fullmatch(name):
            raise _error(f"Invalid index name: {name}. Use letters, digits, _ and -.")
        indexes[name] = _check_key(name, key)
        changes.create[name] = create_statement(app_pk, class_name, name, indexes[name], fields)
    return changes


@asynccontextmanager
async def _ddl_connection() -> AsyncIterator[AsyncConnection]:
    """A short-lived autocommit connection as the tables' owner, for index DDL.

    Why not the usual paths: CREATE/DROP INDEX CONCURRENTLY cannot run inside a
    transaction block, which rules out ``app_transaction`` and any (SECURITY DEFINER)
    function; and DDL needs the owner's rights, which the pool's role
    ``hangar_dataplane`` deliberately lacks (migration 0004 grants it DML only). This
    connection uses the ORM's credentials (the owner) and does not SET ROLE. Unlike
    ``django.db.connection`` under ``sync_to_async``, it neither holds asgiref's shared
    sync thread (which Django's own views need) for the length of a build nor leaves a
    connection behind in a worker thread. Index changes are rare, so one connection
    per change costs nothing that matters.
    """
    conn = await AsyncConnection.connect(
        make_conninfo(data_plane_conninfo(), application_name="hangar-index-ddl"), autocommit=True
    )
    try:
        yield conn
    finally:
        await conn.close()


async def indexes_drop(sql_names: list[str]) -> None:
    if not sql_names:
        return
    async with _ddl_connection() as conn:
        for sql_name in sql_names:
            if not _SQL_NAME.fullmatch(sql_name):
                raise ValueError(f"unsafe index name {sql_name!r}")
            await conn.execute(sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(sql.Identifier(sql_name)))


async def indexes_build(app_pk: int, class_name: str, statements: dict[str, str]) -> list[str]:
    """Build the indexes; returns the Parse names of those that failed (their leftovers dropped, errors logged)."""
    failed: list[str] = []
    if not statements:
        return failed
    async with _ddl_connection() as conn:
        for name, statement in statements.items():
            try:
                await conn.execute(statement)  # built from validated names only (create_statement)
            except DatabaseError:
                log.exception("could not build index %s of %s (app %s)", name, class_name, app_pk)
                failed.append(name)
                # A failed concurrent build leaves an INVALID index behind.
                await conn.execute(
                    sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(
                        sql.Identifier(index_sql_name(app_pk, class_name, name))
                    )
                )
    return failed
