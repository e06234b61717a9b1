"""order → ORDER BY: directions, types, byte order, missing values, columns, unknown and invalid names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hangar.parse_errors import ParseError
from tests.datastore.query.conftest import Store, date, pointer

pytestmark = pytest.mark.django_db
START = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture
def rows(store: Store) -> Store:
    store.put("Item", "r1", {"name": "b", "score": 10, "born": date("2021-01-01T00:00:00.000Z")}, created_at=START)
    store.put("Item", "r2", {"name": "B", "score": 9.5, "meta": {"rank": 2}}, created_at=START + timedelta(days=2))
    store.put("Item", "r3", {"name": "a", "score": 100, "born": date("2019-01-01T00:00:00.000Z")}, created_at=START)
    store.put("Item", "r0", {"meta": {"rank": 1}}, created_at=START + timedelta(days=1))
    return store


def test_numbers_sort_numerically_with_missing_last_both_ways(rows: Store):
    assert rows.find("Item", {}, order="score") == ["r2", "r1", "r3", "r0"]
    assert rows.find("Item", {}, order="-score") == ["r3", "r1", "r2", "r0"]


def test_strings_sort_in_byte_order(rows: Store):
    assert rows.find("Item", {}, order="name") == ["r2", "r3", "r1", "r0"]
    assert rows.find("Item", {}, order="-name") == ["r1", "r3", "r2", "r0"]


def test_several_keys_as_a_comma_string_or_a_list(rows: Store):
    assert rows.find("Item", {}, order="createdAt,-score") == ["r3", "r1", "r0", "r2"]
    assert rows.find("Item", {}, order=["createdAt", "-score"]) == ["r3", "r1", "r0", "r2"]
    assert rows.find("Item", {}, order=" createdAt , -score ") == ["r3", "r1", "r0", "r2"]


def test_no_implicit_tie_breaker_so_indexes_deliver_the_order(rows: Store):
    """Like Parse Server: only the requested keys order the results; ties are broken only on request."""
    assert rows.compile("Item", {}, order="createdAt").order_sql == "created_at ASC"
    assert rows.find("Item", {}, order="createdAt,objectId") == ["r1", "r3", "r0", "r2"]
    assert rows.compile("Item", {}, order="createdAt,objectId").order_sql == 'created_at ASC, object_id COLLATE "C" ASC'


def test_system_columns_and_typed_fields(rows: Store):
    assert rows.find("Item", {}, order="-objectId") == ["r3", "r2", "r1", "r0"]
    assert rows.find("Item", {}, order="-updatedAt,objectId")[0] == "r2"
    assert rows.find("Item", {}, order="born") == ["r3", "r1", "r0", "r2"]
    assert rows.find("Item", {}, order="meta.rank") == ["r0", "r2", "r1", "r3"]
    compiled = rows.compile("Item", {}, order="-score")
    assert compiled.order_sql.startswith("(data->>'score')::numeric DESC NULLS LAST")


def test_pointer_fields_sort_by_object_id(store: Store):
    store.put("Item", "x", {"owner": pointer("_User", "zz")})
    store.put("Item", "y", {"owner": pointer("_User", "aa")})
    assert store.find("Item", {}, order="owner") == ["y", "x"]


def test_names_missing_from_the_schema_are_ignored(rows: Store):
    assert rows.compile("Item", {}, order="nothere").order_sql is None
    assert rows.compile("Item", {}, order="likes,ACL").order_sql is None
    assert rows.find("Item", {}, order="nothere,-score") == ["r3", "r1", "r2", "r0"]


def test_repeated_names_count_once(rows: Store):
    assert rows.compile("Item", {}, order="score,-score").order_sql.count("score") == 1


@pytest.mark.parametrize("order", ["sc ore", "name'; DROP TABLE datastore_object; --", "a..b", "-", "1abc", "é"])
def test_invalid_names_are_rejected(store: Store, order: str):
    with pytest.raises(ParseError) as error:
        store.compile("Item", {}, order=order)
    assert error.value.code == 105
    assert error.value.message.startswith("Invalid field name: ")


def test_auth_data_ids_cannot_be_sorted(store: Store):
    with pytest.raises(ParseError) as error:
        store.compile("_User", {}, order="authData.facebook.id")
    assert (error.value.code, error.value.message) == (105, "Cannot sort by authData.facebook.id")


@pytest.mark.parametrize("order", [5, ["name", 3], {"name": 1}])
def test_order_must_be_strings(store: Store, order: object):
    with pytest.raises(ParseError) as error:
        store.compile("Item", {}, order=order)
    assert error.value.code == 102
