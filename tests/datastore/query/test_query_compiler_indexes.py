"""Field names stay in the SQL text as literals so that expression indexes serve compiled queries."""

from __future__ import annotations

import pytest
from django.db import connection

from hangar.datastore.partitions import partition_name
from tests.datastore.query.conftest import Store

pytestmark = pytest.mark.django_db

# How an app's indexes look: per class (a partial index), on the expressions of docs/datastore.md.
INDEXES = {
    "qc_score": "btree (((data->>'score')::numeric))",
    "qc_name": "btree (((data->>'name') COLLATE \"C\"))",
    "qc_text": "gin ((to_tsvector('english'::regconfig, data->>'body')))",
    "qc_score_desc": "btree (((data->>'score')::numeric) DESC NULLS LAST)",
    "qc_created": "btree (created_at)",
}


def _plan(store: Store, where: dict, order: str | None = None) -> str:
    """The plan of the data plane's statement for a compiled query (LIMIT 20)."""
    compiled = store.compile("Item", where, order=order)
    statement = (
        "EXPLAIN SELECT object_id FROM datastore_object WHERE app_id = %s AND class_name = %s"
        f" AND ({compiled.where_sql})"
    )
    params = [store.app_pk, "Item", *compiled.params]
    if compiled.order_sql:
        statement += f" ORDER BY {compiled.order_sql}"
        params += compiled.order_params
    statement += " LIMIT 20"
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.fixture
def indexed(store: Store) -> Store:
    table = partition_name("datastore_object", store.app_pk)
    with connection.cursor() as cursor:
        # Enough rows for the statistics to make a selective index worth it.
        cursor.execute(
            "INSERT INTO datastore_object (app_id, class_name, object_id, data) SELECT %s, 'Item', 'o' || n,"
            " jsonb_build_object('score', n, 'name', 'name ' || n, 'body', 'tea number ' || n)"
            " FROM generate_series(1, 5000) AS n",
            [store.app_pk],
        )
        for name, definition in INDEXES.items():
            cursor.execute(f"CREATE INDEX {name} ON {table} USING {definition} WHERE class_name = 'Item'")
        cursor.execute(f"ANALYZE {table}")
    return store


@pytest.mark.parametrize(
    ("where", "index"),
    [
        ({"score": {"$gt": 5}}, "qc_score"),
        ({"score": 5}, "qc_score"),
        ({"score": {"$in": [1, 2.5]}}, "qc_score"),
        ({"name": {"$gte": "name 42", "$lt": "name 43"}}, "qc_name"),
        ({"body": {"$text": {"$search": {"$term": "coffee"}}}}, "qc_text"),
    ],
)
def test_expression_indexes_match(indexed: Store, where: dict, index: str):
    assert index in _plan(indexed, where)


@pytest.mark.parametrize(("order", "index"), [("-score", "qc_score_desc"), ("-createdAt", "qc_created")])
def test_indexes_serve_the_order(indexed: Store, order: str, index: str):
    assert index in _plan(indexed, {}, order)
