"""$inQuery/$notInQuery, $select/$dontSelect, Relation fields and $relatedTo: ACL and tenant isolation."""

from __future__ import annotations

import pytest

from hangar.parse_errors import ParseError
from tests.datastore.query.conftest import Store, pointer

pytestmark = pytest.mark.django_db

ALICE = ("*", "alice")


def fill(store: Store) -> None:
    """Posts p1 (5 stars, public), p2 (1 star), p3 (5 stars, readable by bob only); items pointing at them."""
    store.put("Post", "p1", {"stars": 5, "city": "Paris"})
    store.put("Post", "p2", {"stars": 1, "city": "Rome"})
    store.put("Post", "p3", {"stars": 5, "city": "Oslo"}, rperm=["bob"])
    store.put("Item", "i1", {"post": pointer("Post", "p1"), "name": "Paris"})
    store.put("Item", "i2", {"post": pointer("Post", "p2"), "name": "Rome"})
    store.put("Item", "i3", {"post": pointer("Post", "p3"), "name": "Oslo"})
    store.put("Item", "i4", {"name": "Lima"})


@pytest.fixture
def posts(store: Store) -> Store:
    fill(store)
    return store


FIVE_STARS = {"className": "Post", "where": {"stars": 5}}


def test_in_query_matches_pointers_to_matching_objects(posts: Store):
    assert posts.find("Item", {"post": {"$inQuery": FIVE_STARS}}) == ["i1", "i3"]
    assert posts.find("Item", {"post": {"$inQuery": {"className": "Post", "where": {}}}}) == ["i1", "i2", "i3"]


def test_in_query_obeys_the_callers_acl(posts: Store):
    assert posts.find("Item", {"post": {"$inQuery": FIVE_STARS}}, principals=ALICE) == ["i1"]
    assert posts.find("Item", {"post": {"$inQuery": FIVE_STARS}}, principals=("*", "bob")) == ["i1", "i3"]
    assert posts.find("Item", {"post": {"$inQuery": FIVE_STARS}}, principals=()) == ["i1"]


def test_not_in_query_also_matches_missing_pointers(posts: Store):
    assert posts.find("Item", {"post": {"$notInQuery": FIVE_STARS}}) == ["i2", "i4"]
    # p3 is invisible to alice, so pointing at it does not count as "in the query".
    assert posts.find("Item", {"post": {"$notInQuery": FIVE_STARS}}, principals=ALICE) == ["i2", "i3", "i4"]


def test_in_query_on_another_class_than_the_pointer_target_matches_nothing(posts: Store):
    posts.put("_User", "p1", {"username": "same id as a post"})
    assert posts.find("Item", {"post": {"$inQuery": {"className": "_User", "where": {}}}}) == []


def test_in_query_on_a_field_missing_from_the_schema_checks_the_class(posts: Store):
    posts.put("Item", "j1", {"loose": pointer("Post", "p1")})
    posts.put("Item", "j2", {"loose": pointer("_User", "p1")})
    assert posts.find("Item", {"loose": {"$inQuery": FIVE_STARS}}) == ["j1"]


def test_in_query_on_an_array_of_pointers(posts: Store):
    posts.put("Item", "k1", {"posts": [pointer("Post", "p2"), pointer("Post", "p1")]})
    posts.put("Item", "k2", {"posts": [pointer("Post", "p2")]})
    assert posts.find("Item", {"posts": {"$inQuery": FIVE_STARS}}) == ["k1"]


def test_nested_sub_queries(posts: Store):
    posts.put("_User", "u1", {"username": "ann"})
    posts.put("Post", "p4", {"stars": 4, "author": pointer("_User", "u1")})
    posts.put("Item", "i5", {"post": pointer("Post", "p4")})
    by_ann = {
        "className": "Post",
        "where": {"author": {"$inQuery": {"className": "_User", "where": {"username": "ann"}}}},
    }
    assert posts.find("Item", {"post": {"$inQuery": by_ann}}) == ["i5"]
    compiled = posts.compile("Item", {"post": {"$inQuery": by_ann}})
    assert compiled.subquery_classes == {"Post", "_User"}
    assert compiled.referenced_fields == {("Item", "post"), ("Post", "author"), ("_User", "username")}


def test_referenced_fields_include_select_keys_and_order(posts: Store):
    where = {"name": {"$select": {"query": {"className": "_User", "where": {}}, "key": "email"}}}
    compiled = posts.compile("Item", where, order="-score,meta.rank")
    assert compiled.referenced_fields == {("Item", "name"), ("_User", "email"), ("Item", "score"), ("Item", "meta")}


@pytest.mark.parametrize(
    ("operator", "value"),
    [
        ("$inQuery", {"className": "Post"}),
        ("$inQuery", {"where": {}}),
        ("$inQuery", "Post"),
        ("$notInQuery", {"className": 5, "where": {}}),
        ("$inQuery", {"className": "Post", "where": [1]}),
    ],
)
def test_improper_in_query(store: Store, operator: str, value: object):
    with pytest.raises(ParseError) as error:
        store.compile("Item", {"post": {operator: value}})
    assert (error.value.code, error.value.message) == (102, f"improper usage of {operator}")


CITIES_OF_GOOD_POSTS = {"query": {"className": "Post", "where": {"stars": {"$gte": 5}}}, "key": "city"}


def test_select_matches_values_of_the_sub_query_key(posts: Store):
    assert posts.find("Item", {"name": {"$select": CITIES_OF_GOOD_POSTS}}) == ["i1", "i3"]
    assert posts.find("Item", {"name": {"$select": CITIES_OF_GOOD_POSTS}}, principals=ALICE) == ["i1"]


def test_dont_select_matches_the_rest_including_missing(posts: Store):
    posts.put("Item", "i6", {})
    assert posts.find("Item", {"name": {"$dontSelect": CITIES_OF_GOOD_POSTS}}) == ["i2", "i4", "i6"]
    assert posts.find("Item", {"name": {"$dontSelect": CITIES_OF_GOOD_POSTS}}, principals=ALICE) == [
        "i2",
        "i3",
        "i4",
        "i6",
    ]


def test_select_by_object_id_and_dotted_keys(posts: Store):
    posts.put("Post", "p5", {"meta": {"ref": "Lima"}})
    assert posts.find("Item", {"name": {"$select": {"query": {"className": "Post"}, "key": "meta.ref"}}}) == ["i4"]
    assert posts.find("Post", {"objectId": {"$select": {"query": {"className": "Post"}, "key": "objectId"}}}) == [
        "p1",
        "p2",
        "p3",
        "p5",
    ]


@pytest.mark.parametrize(
    "value",
    [
        {"query": {"className": "Post"}},
        {"query": {"className": "Post"}, "key": "city", "extra": 1},
        {"query": {"where": {}}, "key": "city"},
        {"query": "Post", "key": "city"},
        {"query": {"className": "Post"}, "key": 5},
        {"query": {"className": "Post", "where": "x"}, "key": "city"},
    ],
)
def test_improper_select(store: Store, value: object):
    for operator in ("$select", "$dontSelect"):
        with pytest.raises(ParseError) as error:
            store.compile("Item", {"name": {operator: value}})
        assert (error.value.code, error.value.message) == (102, f"improper usage of {operator}")


def test_select_key_must_be_a_valid_field_name(store: Store):
    with pytest.raises(ParseError) as error:
        store.compile("Item", {"name": {"$select": {"query": {"className": "Post"}, "key": "city'--"}}})
    assert (error.value.code, error.value.message) == (105, "Invalid field name: city'--.")


@pytest.fixture
def liked(store: Store) -> Store:
    """Item i1 is liked by u1 and u2, i2 by u3; u3 hides from alice."""
    store.put("_User", "u1", {"username": "ann"})
    store.put("_User", "u2", {"username": "ben"})
    store.put("_User", "u3", {"username": "cy"}, rperm=["u3"])
    for item in ("i1", "i2", "i3"):
        store.put("Item", item)
    store.relate("Item", "i1", "likes", "_User", "u1")
    store.relate("Item", "i1", "likes", "_User", "u2")
    store.relate("Item", "i2", "likes", "_User", "u3")
    return store


def test_pointer_literal_on_a_relation_field(liked: Store):
    assert liked.find("Item", {"likes": pointer("_User", "u2")}) == ["i1"]
    assert liked.find("Item", {"likes": pointer("Post", "u2")}) == []
    assert liked.find("Item", {"likes": {"$in": [pointer("_User", "u3"), pointer("_User", "u1")]}}) == ["i1", "i2"]
    assert liked.find("Item", {"likes": {"$nin": [pointer("_User", "u1")]}}) == ["i2", "i3"]
    assert liked.find("Item", {"likes": {"$ne": pointer("_User", "u3")}}) == ["i1", "i3"]
    assert liked.find("Item", {"likes": {"$all": [pointer("_User", "u1"), pointer("_User", "u2")]}}) == ["i1"]


def test_in_query_on_a_relation_field_obeys_the_acl(liked: Store):
    where = {"likes": {"$inQuery": {"className": "_User", "where": {"username": {"$in": ["cy", "ben"]}}}}}
    assert liked.find("Item", where) == ["i1", "i2"]
    assert liked.find("Item", where, principals=ALICE) == ["i1"]
    assert liked.find("Item", {"likes": {"$notInQuery": {"className": "_User", "where": {}}}}) == ["i3"]


def test_related_to(liked: Store):
    where = {"$relatedTo": {"object": pointer("Item", "i1"), "key": "likes"}}
    assert liked.find("_User", where) == ["u1", "u2"]
    assert liked.find("_User", {**where, "username": "ben"}) == ["u2"]
    assert liked.find("_User", {"$or": [where, {"username": "cy"}]}) == ["u1", "u2", "u3"]
    assert liked.find("Post", where) == []


@pytest.mark.parametrize(
    "value",
    [
        {"object": pointer("Item", "i1")},
        {"key": "likes"},
        {"object": "i1", "key": "likes"},
        "x",
        {"object": {}, "key": 1},
    ],
)
def test_improper_related_to(store: Store, value: object):
    with pytest.raises(ParseError) as error:
        store.compile("_User", {"$relatedTo": value})
    assert (error.value.code, error.value.message) == (102, "improper usage of $relatedTo")


def test_related_to_key_must_be_a_valid_field_name(store: Store):
    with pytest.raises(ParseError) as error:
        store.compile("_User", {"$relatedTo": {"object": pointer("Item", "i1"), "key": "likes; --"}})
    assert error.value.code == 105


def test_sub_queries_never_see_another_apps_rows(store: Store, other_store: Store):
    """Rows in tenant B's partition that would match change nothing in tenant A's results."""
    fill(store)
    fill(other_store)
    other_store.put("Post", "px", {"stars": 5, "city": "Lima"})
    other_store.put("Post", "p9", {"stars": 5, "city": "Rome"})
    other_store.put("_User", "u1", {"username": "ann"})
    other_store.relate("Item", "i2", "likes", "_User", "u1")
    other_store.relate("Item", "i4", "likes", "_User", "u1")
    store.put("_User", "u1", {"username": "ann"})

    assert store.find("Item", {"post": {"$inQuery": FIVE_STARS}}) == ["i1", "i3"]
    assert store.find("Item", {"name": {"$select": CITIES_OF_GOOD_POSTS}}) == ["i1", "i3"]
    assert store.find("Item", {"likes": pointer("_User", "u1")}) == []
    assert store.find("_User", {"$relatedTo": {"object": pointer("Item", "i4"), "key": "likes"}}) == []
    # The same queries in B see B's own rows.
    assert other_store.find("Item", {"name": {"$select": CITIES_OF_GOOD_POSTS}}) == ["i1", "i2", "i3", "i4"]
    assert other_store.find("Item", {"likes": pointer("_User", "u1")}) == ["i2", "i4"]
