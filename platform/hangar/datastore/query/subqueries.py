"""``$inQuery``/``$notInQuery`` and ``$select``/``$dontSelect`` as SQL sub-selects.

A sub-query reads the same app (the same ``app_id`` parameter: a sub-query never
reaches another tenant's rows), the inner class, and only rows the caller may read
with a direct find of that class: its CLP ``find``, its pointer permissions
(``pointerFields``/``readUserFields``) and the ACL apply inside unless the caller holds
the master key (protocol reference §8.1, §15), and its hidden fields cannot be
constrained or selected (fields.py). Without this a sub-query on a class whose find is
limited to ``owner`` would be a content oracle on other owners' rows. Unqualified
column names inside resolve to the sub-select's own FROM, so no aliases are needed.
"""

from __future__ import annotations

from typing import Any

from hangar.datastore.acl_sql import acl_read_condition
from hangar.datastore.partitions import object_partition
from hangar.datastore.query import arrays, relations
from hangar.datastore.query.context import FALSE, Scope, Sql, concat, negate, sql
from hangar.datastore.query.fields import FieldRef, check_field_name, field_ref
from hangar.parse_errors import INVALID_QUERY, ParseError


def subselect(inner: Scope, where: dict[str, Any], column: str) -> Sql:
    """``SELECT <column>`` over the rows of ``inner``'s class that match ``where`` and that the caller may read."""
    from hangar.datastore.query.compiler import compile_where  # the compiler dispatches here: import late

    context = inner.context
    readable = readable_rows(inner, inner.class_name, "find")
    condition = compile_where(inner, where)
    head = sql(
        f"SELECT {column} FROM {object_partition(context.app_pk)} WHERE app_id = %s AND class_name = %s",
        context.app_pk,
        inner.class_name,
    )
    if readable is None:
        return concat(head, " AND (", condition, ")")
    return concat(head, " AND ", readable, " AND (", condition, ")")


def readable_rows(scope: Scope, class_name: str, operation: str) -> Sql | None:
    """The caller's read condition on rows of another class (None for the master key).

    As a direct query of that class: the CLP ``operation`` (raises when refused), the
    pointer permissions that restrict it and the ACL.
    """
    context = scope.context
    if context.access is not None:
        return concat("(", context.access.readable_rows(class_name, operation), ")")
    if context.principals is None:
        return None
    acl_text, acl_params = acl_read_condition(context.principals)
    return Sql(acl_text, tuple(acl_params))


def in_query(scope: Scope, ref: FieldRef, value: Any, operator: str = "$inQuery") -> Sql:
    """``$inQuery``: the pointer (or relation, or array of pointers) targets an object the sub-query matches."""
    if not isinstance(value, dict) or not isinstance(value.get("className"), str) or "where" not in value:
        raise ParseError(INVALID_QUERY, f"improper usage of {operator}")
    where = _where_of(value.get("where"), operator)
    class_name = value["className"]
    ids = subselect(scope.subquery(class_name), where, "object_id")
    return _points_into(scope, ref, class_name, ids)


def not_in_query(scope: Scope, ref: FieldRef, value: Any) -> Sql:
    return negate(in_query(scope, ref, value, "$notInQuery"))


def _points_into(scope: Scope, ref: FieldRef, class_name: str, ids: Sql) -> Sql:
    if ref.type in ("Relation", "Pointer") and ref.target_class not in (None, class_name):
        return FALSE
    if ref.type == "Relation":
        return relations.relation_holds(scope, ref, concat("IN (", ids, ")"))
    if ref.type == "Pointer":
        return concat(f"{ref.member('objectId')} IN (", ids, ")")
    if ref.type == "Array":
        condition = concat(sql("elem.item->>'className' = %s AND elem.item->>'objectId' IN (", class_name), ids, ")")
        return arrays.any_element(ref, condition)
    own_class = sql(f"({ref.member('className')} = %s AND {ref.member('objectId')} IN (", class_name)
    return concat(own_class, ids, "))")


def select(scope: Scope, ref: FieldRef, value: Any, operator: str = "$select") -> Sql:
    """``$select``: the field's value is among the values of ``key`` in the sub-query's results."""
    query = value.get("query") if isinstance(value, dict) else None
    if (
        not isinstance(value, dict)
        or len(value) != 2
        or not isinstance(query, dict)
        or not isinstance(query.get("className"), str)
        or not isinstance(value.get("key"), str)
    ):
        raise ParseError(INVALID_QUERY, f"improper usage of {operator}")
    where = _where_of(query.get("where"), operator)
    inner = scope.subquery(query["className"])
    key = value["key"]
    values = subselect(inner, where, field_ref(inner, key, check_field_name(key)).json)
    if ref.type == "Array":
        return arrays.any_element(ref, concat("elem.item IN (", values, ")"))
    return concat(f"{ref.json} IN (", values, ")")


def dont_select(scope: Scope, ref: FieldRef, value: Any) -> Sql:
    return negate(select(scope, ref, value, "$dontSelect"))


def _where_of(where: Any, operator: str) -> dict[str, Any]:
    if where is None:
        return {}
    if not isinstance(where, dict):
        raise ParseError(INVALID_QUERY, f"improper usage of {operator}")
    return where
