"""Equality, comparisons, membership, existence and dot notation, run against an app's partition."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hangar.parse_errors import ParseError
from tests.datastore.query.conftest import Store, date, geopoint, pointer

pytestmark = pytest.mark.django_db


@pytest.fixture
def items(store: Store) -> Store:
    store.put("Item", "a", {"name": "apple", "score": 10, "flag": True, "meta": {"a": {"b": 1}, "c": "x"}})
    store.put("Item", "b", {"name": "Banana", "score": 2.5, "flag": False, "meta": {"a": {"b": 2}}})
    store.put("Item", "c", {"name": "cherry", "score": -3, "meta": {"a": {"b": None}}})
    store.put("Item", "d", {"extra": "only here"})
    return store


def test_literal_equality_by_type(items: Store):
    assert items.find("Item", {"name": "apple"}) == ["a"]
    assert items.find("Item", {"score": 2.5}) == ["b"]
    assert items.find("Item", {"score": 10.0}) == ["a"]
    assert items.find("Item", {"flag": False}) == ["b"]
    assert items.find("Item", {"name": "apple", "score": 10}) == ["a"]
    assert items.find("Item", {"name": "apple", "score": 11}) == []


def test_empty_where_matches_everything(items: Store):
    assert items.compile("Item", {}).where_sql == "TRUE"
    assert items.compile("Item", None).where_sql == "TRUE"
    assert items.find("Item", {}) == ["a", "b", "c", "d"]


def test_object_literal_is_an_exact_match(items: Store):
    assert items.find("Item", {"meta": {"c": "x", "a": {"b": 1}}}) == ["a"]
    assert items.find("Item", {"meta": {"a": {"b": 1}}}) == []


def test_null_literal_and_eq_null_match_missing(items: Store):
    assert items.find("Item", {"flag": None}) == ["c", "d"]
    assert items.find("Item", {"flag": {"$eq": None}}) == ["c", "d"]
    assert items.find("Item", {"flag": {"$ne": None}}) == ["a", "b"]


def test_ne_also_matches_missing(items: Store):
    assert items.find("Item", {"name": {"$ne": "apple"}}) == ["b", "c", "d"]
    assert items.find("Item", {"score": {"$ne": 2.5}}) == ["a", "c", "d"]
    assert items.find("Item", {"flag": {"$ne": True}}) == ["b", "c", "d"]


def test_eq_operator(items: Store):
    assert items.find("Item", {"name": {"$eq": "Banana"}}) == ["b"]


def test_number_comparisons(items: Store):
    assert items.find("Item", {"score": {"$gt": 2.5}}) == ["a"]
    assert items.find("Item", {"score": {"$gte": 2.5}}) == ["a", "b"]
    assert items.find("Item", {"score": {"$lt": 0}}) == ["c"]
    assert items.find("Item", {"score": {"$lte": 2.5, "$gt": -3}}) == ["b"]


def test_float_values_compare_exactly(store: Store):
    store.put("Item", "f", {"score": 0.1 + 0.2})
    assert store.find("Item", {"score": 0.1 + 0.2}) == ["f"]
    assert store.find("Item", {"score": 0.3}) == []
    assert store.find("Item", {"score": {"$gt": 0.3}}) == ["f"]


def test_string_comparisons_are_byte_order(items: Store):
    # Byte order: upper case before lower case, whatever the database's collation.
    assert items.find("Item", {"name": {"$lt": "a"}}) == ["b"]
    assert items.find("Item", {"name": {"$gte": "b"}}) == ["c"]


def test_comparison_with_a_value_of_another_type_matches_nothing(items: Store):
    assert items.find("Item", {"score": {"$gt": "a"}}) == []
    assert items.find("Item", {"name": {"$gt": 1}}) == []
    assert items.find("Item", {"name": {"$gt": None}}) == []


def test_in_and_nin(items: Store):
    assert items.find("Item", {"name": {"$in": ["apple", "cherry", "kiwi"]}}) == ["a", "c"]
    assert items.find("Item", {"score": {"$in": [10, 2.5]}}) == ["a", "b"]
    assert items.find("Item", {"name": {"$nin": ["apple", "cherry"]}}) == ["b", "d"]
    assert items.find("Item", {"score": {"$nin": [10]}}) == ["b", "c", "d"]


def test_in_with_null_matches_missing_and_nin_with_null_excludes_it(items: Store):
    assert items.find("Item", {"flag": {"$in": [True, None]}}) == ["a", "c", "d"]
    assert items.find("Item", {"flag": {"$nin": [None]}}) == ["a", "b"]


def test_empty_in_matches_nothing_and_empty_nin_everything(items: Store):
    assert items.find("Item", {"name": {"$in": []}}) == []
    assert items.find("Item", {"name": {"$nin": []}}) == ["a", "b", "c", "d"]


def test_in_flattens_nested_lists_and_mixed_types_still_work(items: Store):
    assert items.find("Item", {"name": {"$in": [["apple"], "Banana"]}}) == ["a", "b"]
    assert items.find("Item", {"name": {"$in": [1, "apple", {"x": 1}]}}) == ["a"]


def test_bad_in_values(items: Store):
    for operator in ("$in", "$nin"):
        with pytest.raises(ParseError) as error:
            items.compile("Item", {"name": {operator: "apple"}})
        assert (error.value.code, error.value.message) == (107, f"bad {operator} value")


def test_exists(items: Store):
    assert items.find("Item", {"flag": {"$exists": True}}) == ["a", "b"]
    assert items.find("Item", {"flag": {"$exists": False}}) == ["c", "d"]
    assert items.find("Item", {"objectId": {"$exists": True}}) == ["a", "b", "c", "d"]
    assert items.find("Item", {"createdAt": {"$exists": False}}) == []


def test_fields_missing_from_the_schema_compile_generically(items: Store):
    assert items.find("Item", {"extra": "only here"}) == ["d"]
    assert items.find("Item", {"nowhere": {"$exists": False}}) == ["a", "b", "c", "d"]
    assert items.find("Item", {"nowhere": {"$ne": 1}}) == ["a", "b", "c", "d"]
    assert items.find("Item", {"nowhere": 1}) == []
    assert items.find("Item", {"extra": {"$gt": "only"}}) == ["d"]


def test_a_class_missing_from_the_schemas_still_compiles(store: Store):
    store.put("Ghost", "g", {"n": 3})
    assert store.find("Ghost", {"n": {"$gte": 3}}) == ["g"]


def test_dot_notation_into_objects(items: Store):
    assert items.find("Item", {"meta.a.b": 1}) == ["a"]
    assert items.find("Item", {"meta.a.b": {"$gt": 1}}) == ["b"]
    assert items.find("Item", {"meta.a.b": {"$in": [2, 3]}}) == ["b"]
    assert items.find("Item", {"meta.c": {"$regex": "^x$"}}) == ["a"]
    assert items.find("Item", {"meta.c": {"$ne": "x"}}) == ["b", "c", "d"]


def test_dot_notation_exists_treats_json_null_as_absent(items: Store):
    assert items.find("Item", {"meta.a.b": {"$exists": True}}) == ["a", "b"]
    assert items.find("Item", {"meta.a.b": {"$exists": False}}) == ["c", "d"]
    assert items.find("Item", {"meta.a.b": None}) == ["c", "d"]


def test_pointer_equality_compares_object_id_and_class(store: Store):
    store.put("Item", "p1", {"owner": pointer("_User", "u1")})
    store.put("Item", "p2", {"owner": pointer("_User", "u2")})
    assert store.find("Item", {"owner": pointer("_User", "u1")}) == ["p1"]
    assert store.find("Item", {"owner": pointer("Post", "u1")}) == []
    assert store.find("Item", {"owner": {"$ne": pointer("_User", "u1")}}) == ["p2"]
    assert store.find("Item", {"owner": {"$in": [pointer("_User", "u2"), pointer("_User", "zz")]}}) == ["p2"]
    assert store.find("Item", {"owner": {"$in": [pointer("Post", "u2")]}}) == []
    compiled = store.compile("Item", {"owner": pointer("_User", "u1")})
    assert "(data->'owner')->>'objectId'" in compiled.where_sql


def test_pointer_equality_on_a_field_missing_from_the_schema(store: Store):
    store.put("Item", "p1", {"loose": pointer("Post", "x1")})
    assert store.find("Item", {"loose": {"__type": "Pointer", "className": "Post", "objectId": "x1"}}) == ["p1"]
    assert store.find("Item", {"loose": pointer("Post", "x2")}) == []


def test_object_id_column(items: Store):
    assert items.find("Item", {"objectId": "b"}) == ["b"]
    assert items.find("Item", {"objectId": {"$in": ["a", "c", 3]}}) == ["a", "c"]
    assert items.find("Item", {"objectId": {"$gt": "b"}}) == ["c", "d"]
    assert items.find("Item", {"objectId": {"$nin": ["a"]}}) == ["b", "c", "d"]
    assert items.find("Item", {"objectId": 5}) == []


def test_date_fields(store: Store):
    store.put("Item", "old", {"born": date("2020-01-01T00:00:00.000Z")})
    store.put("Item", "new", {"born": date("2024-06-01T12:00:00.000Z")})
    # Any offset in the query value is normalised to the stored UTC form.
    assert store.find("Item", {"born": date("2024-06-01T14:00:00+02:00")}) == ["new"]
    assert store.find("Item", {"born": {"$lt": date("2021-01-01T00:00:00.000Z")}}) == ["old"]
    assert store.find("Item", {"born": {"$gte": date("2020-01-01T00:00:00Z")}}) == ["new", "old"]
    assert store.find("Item", {"born": {"$in": [date("2020-01-01T00:00:00Z")]}}) == ["old"]
    assert store.find("Item", {"born": {"$gt": "2022-01-01T00:00:00Z"}}) == ["new"]
    assert store.find("Item", {"born": "2020-01-01T00:00:00.000Z"}) == ["old"]


def test_invalid_date_values_are_rejected(store: Store):
    with pytest.raises(ParseError) as error:
        store.compile("Item", {"born": {"$lt": date("yesterday")}})
    assert error.value.code == 111


def test_created_at_and_updated_at_columns(store: Store):
    start = datetime(2023, 1, 1, tzinfo=UTC)
    store.put("Item", "x", created_at=start, updated_at=start + timedelta(days=10))
    store.put("Item", "y", created_at=start + timedelta(days=5), updated_at=start + timedelta(days=5))
    assert store.find("Item", {"createdAt": {"$gt": date("2023-01-02T00:00:00.000Z")}}) == ["y"]
    assert store.find("Item", {"updatedAt": {"$gt": date("2023-01-08T00:00:00.000Z")}}) == ["x"]
    assert store.find("Item", {"createdAt": date("2023-01-01T00:00:00.000Z")}) == ["x"]
    assert store.find("Item", {"createdAt": {"$in": [date("2023-01-06T00:00:00Z")]}}) == ["y"]
    assert store.find("Item", {"createdAt": {"$ne": date("2023-01-01T00:00:00.000Z")}}) == ["y"]
    assert store.find("Item", {"createdAt": {"$gt": 5}}) == []
    # Plain ISO strings work too (Parse Server on Postgres lets the database cast them).
    assert store.find("Item", {"createdAt": {"$gt": "2023-01-02T00:00:00Z"}}) == ["y"]
    assert store.find("Item", {"createdAt": "2023-01-01T01:00:00+01:00"}) == ["x"]
    assert store.find("Item", {"createdAt": "not a date"}) == []
    assert "created_at > %s" in store.compile("Item", {"createdAt": {"$gt": date("2023-01-01T00:00:00Z")}}).where_sql


def test_relative_time_on_dates_and_created_at(store: Store):
    now = datetime.now(UTC)
    store.put("Item", "recent", {"born": date(_iso(now - timedelta(hours=2)))}, created_at=now - timedelta(hours=2))
    store.put("Item", "older", {"born": date(_iso(now - timedelta(days=3)))}, created_at=now - timedelta(days=3))
    store.put("Item", "future", {"born": date(_iso(now + timedelta(days=3)))}, created_at=now)
    assert store.find("Item", {"createdAt": {"$gt": {"$relativeTime": "1 day ago"}}}) == ["future", "recent"]
    assert store.find("Item", {"born": {"$lt": {"$relativeTime": "2 days 12 hrs ago"}}}) == ["older"]
    assert store.find("Item", {"born": {"$gt": {"$relativeTime": "in 1 day"}}}) == ["future"]
    assert store.find("Item", {"born": {"$lte": {"$relativeTime": "now"}}}) == ["older", "recent"]


@pytest.mark.parametrize(
    ("constraint", "message"),
    [
        ({"born": {"$gt": {"$relativeTime": "2 days"}}}, "bad $relativeTime ($gt) value. Time should either start"),
        ({"born": {"$lt": {"$relativeTime": "in 1 fortnight"}}}, "bad $relativeTime ($lt) value. Invalid interval"),
        ({"born": {"$lt": {"$relativeTime": 5}}}, "bad $relativeTime ($lt) value."),
        ({"born": {"$eq": {"$relativeTime": "1 day ago"}}}, "$relativeTime can only be used with the $lt"),
        ({"born": {"$ne": {"$relativeTime": "1 day ago"}}}, "$relativeTime can only be used with the $lt"),
        ({"born": {"$in": [{"$relativeTime": "1 day ago"}]}}, "$relativeTime can only be used with the $lt"),
        ({"score": {"$gt": {"$relativeTime": "1 day ago"}}}, "$relativeTime can only be used with Date field"),
    ],
)
def test_relative_time_errors(store: Store, constraint: dict, message: str):
    with pytest.raises(ParseError) as error:
        store.compile("Item", constraint)
    assert error.value.code == 107
    assert error.value.message.startswith(message)


def test_file_equality_compares_the_name(store: Store):
    store.put("Item", "f", {"doc": {"__type": "File", "name": "abc_doc.txt"}})
    assert store.find("Item", {"doc": {"__type": "File", "name": "abc_doc.txt", "url": "http://x/y"}}) == ["f"]
    assert store.find("Item", {"doc": {"__type": "File", "name": "other.txt"}}) == []


def test_geopoint_literal_equality(store: Store):
    store.put("Item", "g", {"location": geopoint(40, -30.5)})
    assert store.find("Item", {"location": geopoint(40.0, -30.5)}) == ["g"]
    assert store.find("Item", {"location": geopoint(40.0, -30.0)}) == []


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def test_polygon_literal_equality_closes_the_ring(store: Store):
    store.put("Item", "p", {"area": {"__type": "Polygon", "coordinates": [[0, 0], [0, 1], [1, 1], [0, 0]]}})
    assert store.find("Item", {"area": {"__type": "Polygon", "coordinates": [[0, 0], [0, 1], [1, 1]]}}) == ["p"]
    assert store.find("Item", {"area": {"__type": "Polygon", "coordinates": [[0, 0], [0, 2], [1, 1]]}}) == []
