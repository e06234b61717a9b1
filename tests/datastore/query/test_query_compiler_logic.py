"""$or, $and, $nor: composition, missing fields under negation, and format errors."""

from __future__ import annotations

import pytest

from hangar.parse_errors import ParseError
from tests.datastore.query.conftest import Store

pytestmark = pytest.mark.django_db


@pytest.fixture
def scored(store: Store) -> Store:
    store.put("Item", "a", {"score": 200, "name": "x"})
    store.put("Item", "b", {"score": 3, "name": "y"})
    store.put("Item", "c", {"score": 50})
    store.put("Item", "d", {})
    return store


def test_or(scored: Store):
    assert scored.find("Item", {"$or": [{"score": {"$gt": 150}}, {"score": {"$lt": 5}}]}) == ["a", "b"]


def test_and(scored: Store):
    assert scored.find("Item", {"$and": [{"score": {"$gt": 2}}, {"score": {"$lt": 100}}]}) == ["b", "c"]


def test_nor_matches_rows_where_the_fields_are_missing(scored: Store):
    assert scored.find("Item", {"$nor": [{"score": {"$gt": 100}}, {"name": "y"}]}) == ["c", "d"]
    assert scored.find("Item", {"$nor": [{"score": 3}]}) == ["a", "c", "d"]


def test_nested_logic_and_sibling_keys(scored: Store):
    where = {"name": {"$exists": True}, "$or": [{"$and": [{"score": {"$gt": 100}}]}, {"$nor": [{"name": "x"}]}]}
    assert scored.find("Item", where) == ["a", "b"]


def test_empty_or_matches_nothing_and_empty_and_everything(scored: Store):
    assert scored.find("Item", {"$or": []}) == []
    assert scored.find("Item", {"$and": []}) == ["a", "b", "c", "d"]


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ({"$or": {"score": 1}}, "Bad $or format - use an array value."),
        ({"$and": "x"}, "Bad $and format - use an array value."),
        ({"$or": [1, 2]}, "Bad $or format - use an array value."),
        ({"$nor": []}, "Bad $nor format - use an array of at least 1 value."),
        ({"$or": [{"ACL": 1}]}, "Cannot query on ACL."),
    ],
)
def test_format_errors(store: Store, where: dict, message: str):
    with pytest.raises(ParseError) as error:
        store.compile("Item", where)
    assert (error.value.code, error.value.message) == (102, message)
