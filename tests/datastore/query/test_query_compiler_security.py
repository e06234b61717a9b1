"""Hostile input: values are only ever bind parameters, names are validated, and size/depth are bounded."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from hangar.datastore.query import MAX_DEPTH, MAX_NODES, CompiledQuery
from hangar.parse_errors import ParseError
from tests.datastore.query.conftest import Store, pointer

pytestmark = pytest.mark.django_db

HOSTILE_VALUES = [
    "'); DROP TABLE datastore_object; --",
    "x' OR '1'='1",
    "a\"b'c;d",
    "%s %% %(name)s",
    "\\'; SELECT pg_sleep(10); --",
    "$$ LANGUAGE sql $$",
    "名前 ñ 🎉 \u202e",
    "*/ /*",
    "line\nbreak\ttab",
]


def _placeholders_match(compiled: CompiledQuery) -> None:
    """Every % in the SQL text is a placeholder, one per parameter: no value was spliced in."""
    for text, params in ((compiled.where_sql, compiled.params), (compiled.order_sql or "", compiled.order_params)):
        assert text.count("%s") == len(params)
        assert "%" not in text.replace("%s", "")


def _table_exists() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('datastore_object') IS NOT NULL")
        return bool(cursor.fetchone()[0])


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_hostile_values_are_data(store: Store, value: str):
    store.put("Item", "h", {"name": value, "tags": [value], "meta": {"k": value}})
    store.put("Item", "o", {"name": "other"})
    queries: list[tuple[dict[str, Any], list[str]]] = [
        ({"name": value}, ["h"]),
        ({"name": {"$ne": value}}, ["o"]),
        ({"name": {"$in": [value, "zzz"]}}, ["h"]),
        ({"name": {"$gte": value, "$lte": value}}, ["h"]),
        ({"name": {"$regex": f"^\\Q{value}\\E$"}}, ["h"]),
        ({"tags": value}, ["h"]),
        ({"tags": {"$all": [value]}}, ["h"]),
        ({"meta.k": value}, ["h"]),
        ({"meta": {"k": value}}, ["h"]),
        ({"objectId": value}, []),
        ({"post": pointer("Post", value)}, []),
        ({"body": {"$text": {"$search": {"$term": value}}}}, []),
        ({"post": {"$inQuery": {"className": value, "where": {"name": value}}}}, []),
        ({"name": {"$select": {"query": {"className": value}, "key": "name"}}}, []),
        ({"$relatedTo": {"object": pointer(value, value), "key": "likes"}}, []),
    ]
    for where, expected in queries:
        compiled = store.compile("Item", where)
        assert value not in compiled.where_sql
        _placeholders_match(compiled)
        assert store.find("Item", where) == expected, where
    assert _table_exists()


HOSTILE_KEYS = [
    "name'",
    "name'; DROP TABLE datastore_object; --",
    "na-me",
    "name)",
    "na me",
    "name.'x'",
    "meta..k",
    ".name",
    "name.",
    "",
    "1name",
    "námé",
    "name\x00",
    "name\n",
    "_rperm",
    "_wperm",
    "_hashed_password",
    "$where",
    "$foo",
    "meta.$gt",
    "meta.k'",
]


@pytest.mark.parametrize("key", HOSTILE_KEYS)
def test_hostile_keys_are_rejected(store: Store, key: str):
    for where in ({key: 1}, {"$or": [{key: 1}]}, {"post": {"$inQuery": {"className": "Post", "where": {key: 1}}}}):
        with pytest.raises(ParseError) as error:
            store.compile("Item", where)
        assert (error.value.code, error.value.message) == (105, f"Invalid key name: {key}")


def test_master_may_query_internal_fields_but_not_the_acl_columns(store: Store):
    store.put("_User", "u1", {"_email_verify_token": "tok"})
    assert store.find("_User", {"_email_verify_token": "tok"}) == ["u1"]
    for key in ("_email_verify_token", "_rperm"):
        with pytest.raises(ParseError):
            store.compile("_User", {key: "tok"}, principals=("*",))
    with pytest.raises(ParseError):
        store.compile("_User", {"_rperm": "*"})


@pytest.mark.parametrize("where", [{"ACL": {"*": {"read": True}}}, {"ACL.*.read": True}, {"$and": [{"ACL": 1}]}])
def test_acl_cannot_be_queried(store: Store, where: dict):
    with pytest.raises(ParseError) as error:
        store.compile("Item", where)
    assert (error.value.code, error.value.message) == (102, "Cannot query on ACL.")


@pytest.mark.parametrize(
    ("value", "operator"),
    [
        ({"$where": "sleep(10)"}, "$where"),
        ({"$foo": 1}, "$foo"),
        ({"$gt": 1, "plain": 2}, "plain"),
        ({"$regex": "x", "$function": "f"}, "$function"),
    ],
)
def test_unknown_operators_are_rejected(store: Store, value: dict, operator: str):
    with pytest.raises(ParseError) as error:
        store.compile("Item", {"meta": value})
    assert (error.value.code, error.value.message) == (107, f"bad constraint: {operator}")


def test_operator_keys_nested_inside_an_object_literal_are_plain_data(store: Store):
    store.put("Item", "n", {"meta": {"a": 1}})
    assert store.find("Item", {"meta": {"a": {"$gt": 0}}}) == []


@pytest.mark.parametrize("where", ["name=1", ["name"], 5, True])
def test_where_must_be_an_object(store: Store, where: object):
    with pytest.raises(ParseError) as error:
        store.compile("Item", where)
    assert (error.value.code, error.value.message) == (102, "where must be a JSON object")


def _nested_or(depth: int) -> dict[str, Any]:
    where: dict[str, Any] = {"name": "x"}
    for _ in range(depth):
        where = {"$or": [where]}
    return where


def test_nesting_depth_is_bounded(store: Store):
    store.put("Item", "x", {"name": "x"})
    assert store.find("Item", _nested_or(MAX_DEPTH)) == ["x"]
    with pytest.raises(ParseError) as error:
        store.compile("Item", _nested_or(MAX_DEPTH + 1))
    assert error.value.code == 102
    assert "nested too deeply" in error.value.message


def test_sub_queries_count_towards_the_depth(store: Store):
    where: dict[str, Any] = {"name": "x"}
    for _ in range(MAX_DEPTH + 1):
        where = {"post": {"$inQuery": {"className": "Post", "where": where}}}
    with pytest.raises(ParseError) as error:
        store.compile("Item", where)
    assert error.value.code == 102


def test_list_sizes_and_constraint_counts_are_bounded(store: Store):
    store.put("Item", "x", {"score": 7})
    assert store.find("Item", {"score": {"$in": list(range(MAX_NODES - 10))}}) == ["x"]
    too_many = [
        {"score": {"$in": list(range(MAX_NODES + 1))}},
        {"tags": {"$all": list(range(MAX_NODES + 1))}},
        {"$or": [{"score": n} for n in range(MAX_NODES + 1)]},
        {f"f{n}": n for n in range(MAX_NODES + 1)},
    ]
    for where in too_many:
        with pytest.raises(ParseError) as error:
            store.compile("Item", where)
        assert error.value.code == 102
        assert "too complex" in error.value.message


@pytest.mark.parametrize(
    ("where", "code"),
    [
        ({"name": "nul\x00byte"}, 102),
        ({"name": {"$in": ["ok", "nul\x00"]}}, 102),
        ({"meta": {"k": "nul\x00"}}, 102),
        ({"name": "lone \ud800 surrogate"}, 107),
        ({"score": {"$gt": float("nan")}}, 107),
        ({"score": {"$in": [1, float("inf")]}}, 107),
        ({"meta": {"k": float("nan")}}, 107),
    ],
)
def test_values_postgres_cannot_hold_are_parse_errors(store: Store, where: dict, code: int):
    with pytest.raises(ParseError) as error:
        store.compile("Item", where)
    assert error.value.code == code


def test_a_backslash_before_u0000_is_text_not_a_nul(store: Store):
    store.put("Item", "b", {"meta": {"k": "\\u0000"}})
    assert store.find("Item", {"meta": {"k": "\\u0000"}}) == ["b"]
