"""Relation fields and ``$relatedTo`` (protocol reference §8.1).

Relations live in ``datastore_relation`` (docs/datastore.md). Inside the EXISTS below,
the unqualified ``object_id`` resolves to the row being filtered (the relation table has
no such column), whatever query level that row belongs to.
"""

from __future__ import annotations

from typing import Any

from hangar.datastore.partitions import object_partition, relation_partition
from hangar.datastore.query.context import FALSE, Scope, Sql, concat, sql
from hangar.datastore.query.fields import FieldRef, check_field_name, note_field_read
from hangar.datastore.query.literals import is_pointer
from hangar.parse_errors import INVALID_QUERY, ParseError


def relation_holds(scope: Scope, ref: FieldRef, related_ids: Sql) -> Sql:
    """The row's relation ``ref`` holds an object whose id satisfies ``related_id <related_ids>``."""
    owner = sql(
        f"EXISTS (SELECT 1 FROM {relation_partition(scope.context.app_pk)} WHERE app_id = %s AND owner_class = %s"
        f" AND owner_id = object_id AND key = '{ref.root}' AND related_id ",
        scope.context.app_pk,
        scope.class_name,
    )
    return concat(owner, related_ids, ")")


def relation_holds_any(scope: Scope, ref: FieldRef, items: list[Any]) -> Sql:
    """Pointer literal or ``$in`` on a Relation field: the relation holds one of these objects."""
    ids = [item["objectId"] for item in items if is_pointer(item) and _targets(ref, item["className"])]
    if not ids:
        return FALSE
    if len(ids) == 1:
        return relation_holds(scope, ref, sql("= %s", ids[0]))
    return relation_holds(scope, ref, sql("= ANY(%s::text[])", ids))


def _targets(ref: FieldRef, class_name: str) -> bool:
    return ref.target_class is None or ref.target_class == class_name


def related_to(scope: Scope, value: Any) -> Sql:
    """``$relatedTo``: the row is a member of the relation ``key`` of ``object``, an object the caller may read.

    The owner passes the same checks as a direct get of it (CLP, pointer permissions, ACL,
    hidden fields), so that relation membership is no oracle on objects the caller cannot see.
    """
    from hangar.datastore.query.subqueries import readable_rows  # subqueries imports this module

    owner = value.get("object") if isinstance(value, dict) else None
    key = value.get("key") if isinstance(value, dict) else None
    if not isinstance(owner, dict) or not is_pointer(owner) or not isinstance(key, str):
        raise ParseError(INVALID_QUERY, "improper usage of $relatedTo")
    check_field_name(key)
    members = sql(
        f"object_id IN (SELECT related_id FROM {relation_partition(scope.context.app_pk)} WHERE app_id = %s"
        " AND owner_class = %s"
        " AND owner_id = %s AND key = %s AND related_class = %s)",
        scope.context.app_pk,
        owner["className"],
        owner["objectId"],
        key,
        scope.class_name,
    )
    owner_scope = Scope(scope.state, owner["className"], scope.context.schemas.get(owner["className"]) or {})
    note_field_read(owner_scope, key)
    readable = readable_rows(scope, owner["className"], "get")
    if readable is None:
        return members
    owner_visible = sql(
        f"EXISTS (SELECT 1 FROM {object_partition(scope.context.app_pk)} WHERE app_id = %s AND class_name = %s"
        " AND object_id = %s AND ",
        scope.context.app_pk,
        owner["className"],
        owner["objectId"],
    )
    return concat("(", members, " AND ", owner_visible, readable, "))")
