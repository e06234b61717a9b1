"""Array fields: containment equality, any-of, $all (values and regexes), $containedBy, $regex."""

from __future__ import annotations

import pytest

from hangar.parse_errors import ParseError
from tests.datastore.query.conftest import Store, pointer

pytestmark = pytest.mark.django_db


@pytest.fixture
def tagged(store: Store) -> Store:
    store.put("Item", "a", {"tags": ["red", "green", 2]})
    store.put("Item", "b", {"tags": ["blue", "green"]})
    store.put("Item", "c", {"tags": [1, 2, 3]})
    store.put("Item", "e", {"tags": []})
    store.put("Item", "m", {})
    return store


def test_equality_on_an_array_means_contains(tagged: Store):
    assert tagged.find("Item", {"tags": "green"}) == ["a", "b"]
    assert tagged.find("Item", {"tags": 2}) == ["a", "c"]
    assert tagged.find("Item", {"tags": {"$eq": "red"}}) == ["a"]
    assert "(data->'tags') @> %s::jsonb" in tagged.compile("Item", {"tags": "green"}).where_sql


def test_equality_with_a_list_matches_the_exact_array(tagged: Store):
    assert tagged.find("Item", {"tags": ["blue", "green"]}) == ["b"]
    assert tagged.find("Item", {"tags": []}) == ["e"]


def test_ne_on_an_array_means_does_not_contain_and_matches_missing(tagged: Store):
    assert tagged.find("Item", {"tags": {"$ne": "green"}}) == ["c", "e", "m"]


def test_in_on_an_array_means_any_element_in_the_list(tagged: Store):
    assert tagged.find("Item", {"tags": {"$in": ["red", "blue"]}}) == ["a", "b"]
    assert tagged.find("Item", {"tags": {"$in": [3, "red"]}}) == ["a", "c"]
    assert tagged.find("Item", {"tags": {"$in": [None]}}) == ["m"]
    assert tagged.find("Item", {"tags": {"$nin": ["green", 1]}}) == ["e", "m"]


def test_all(tagged: Store):
    assert tagged.find("Item", {"tags": {"$all": ["green", 2]}}) == ["a"]
    assert tagged.find("Item", {"tags": {"$all": ["green"]}}) == ["a", "b"]
    assert tagged.find("Item", {"tags": {"$all": []}}) == []


def test_all_with_starts_with_regexes(tagged: Store):
    where = {"tags": {"$all": [{"$regex": "^\\Qgr\\E"}, {"$regex": "^\\Qbl\\E"}]}}
    assert tagged.find("Item", where) == ["b"]
    assert tagged.find("Item", {"tags": {"$all": [{"$regex": "^\\QR\\E", "$options": "i"}]}}) == ["a"]


def test_all_mixing_regexes_and_values_is_rejected(tagged: Store):
    with pytest.raises(ParseError) as error:
        tagged.compile("Item", {"tags": {"$all": [{"$regex": "^\\Qgr\\E"}, "red"]}})
    assert error.value.code == 107
    assert error.value.message.startswith("All $all values must be of regex type or none")


def test_all_must_be_a_list(tagged: Store):
    with pytest.raises(ParseError) as error:
        tagged.compile("Item", {"tags": {"$all": "green"}})
    assert (error.value.code, error.value.message) == (107, "bad $all value")


def test_contained_by(tagged: Store):
    assert tagged.find("Item", {"tags": {"$containedBy": ["blue", "green", "red", 2]}}) == ["a", "b", "e"]
    assert tagged.find("Item", {"tags": {"$containedBy": [1, 2, 3, 4]}}) == ["c", "e"]
    with pytest.raises(ParseError) as error:
        tagged.compile("Item", {"tags": {"$containedBy": {"x": 1}}})
    assert (error.value.code, error.value.message) == (107, "bad $containedBy: should be an array")


def test_regex_on_an_array_matches_any_element(tagged: Store):
    assert tagged.find("Item", {"tags": {"$regex": "^gr"}}) == ["a", "b"]
    assert tagged.find("Item", {"tags": {"$regex": "^BL", "$options": "i"}}) == ["b"]


def test_arrays_of_pointers(store: Store):
    store.put("Item", "x", {"posts": [pointer("Post", "p1"), pointer("Post", "p2")]})
    store.put("Item", "y", {"posts": [pointer("Post", "p3")]})
    assert store.find("Item", {"posts": pointer("Post", "p2")}) == ["x"]
    assert store.find("Item", {"posts": {"$in": [pointer("Post", "p3"), pointer("Post", "p9")]}}) == ["y"]
    assert store.find("Item", {"posts": {"$all": [pointer("Post", "p1"), pointer("Post", "p2")]}}) == ["x"]
    assert store.find("Item", {"posts": {"$nin": [pointer("Post", "p1")]}}) == ["y"]


def test_array_operators_on_a_non_array_value_do_not_fail(store: Store):
    """Rows of another shape (a scalar where arrays are expected) simply do not match."""
    store.put("Item", "s", {"tags": "green"})
    store.put("Item", "t", {"tags": ["green"]})
    assert store.find("Item", {"tags": {"$in": [1, "green"]}}) == ["t"]
    assert store.find("Item", {"tags": {"$regex": "gr"}}) == ["t"]
    assert store.find("Item", {"tags": {"$containedBy": ["green"]}}) == ["t"]
