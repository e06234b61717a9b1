"""The LiveQuery matcher, operator by operator, on wire objects as the change feed publishes them."""

from __future__ import annotations

from typing import Any

import pytest

from hangar.parse_errors import INCORRECT_TYPE, INVALID_JSON, INVALID_KEY_NAME, INVALID_QUERY, ParseError
from hangar.realtime.matching import UnsupportedQuery, compile_matcher, where_fields


def pointer(object_id: str, class_name: str = "Team") -> dict[str, str]:
    return {"__type": "Pointer", "className": class_name, "objectId": object_id}


def date(iso: str) -> dict[str, str]:
    return {"__type": "Date", "iso": iso}


def geopoint(latitude: float, longitude: float) -> dict[str, Any]:
    return {"__type": "GeoPoint", "latitude": latitude, "longitude": longitude}


OBJ: dict[str, Any] = {
    "objectId": "abc123",
    "createdAt": "2024-05-01T10:00:00.000Z",
    "updatedAt": "2024-05-02T10:00:00.000Z",
    "name": "Ada",
    "score": 10,
    "ratio": 0.5,
    "flag": True,
    "nothing": None,
    "born": date("1990-01-02T03:04:05.678Z"),
    "tags": ["a", "b", 3],
    "team": pointer("t1"),
    "members": [pointer("u1", "_User"), pointer("u2", "_User")],
    "meta": {"level": 3, "city": "Oslo", "empty": None, "deep": {"x": [1, 2]}},
    "where": geopoint(59.91, 10.75),
    "avatar": {"__type": "File", "name": "f-avatar.png", "url": "http://files.example/f-avatar.png"},
    "friends": {"__type": "Relation", "className": "_User"},
    "area": {"__type": "Polygon", "coordinates": [[0.0, 0.0], [0.0, 2.0], [2.0, 2.0], [2.0, 0.0], [0.0, 0.0]]},
    "ACL": {"*": {"read": True}},
}


def matches(where: dict[str, Any], obj: dict[str, Any] = OBJ) -> bool:
    return compile_matcher(where)(obj)


def refused(where: Any) -> ParseError:
    with pytest.raises(ParseError) as caught:
        compile_matcher(where)
    return caught.value


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({}, True),
        ({"name": "Ada"}, True),
        ({"name": "ada"}, False),
        ({"score": 10.0}, True),
        ({"flag": 1}, False),  # a boolean never equals a number
        ({"tags": "a"}, True),  # a scalar equals an array that contains it
        ({"tags": 3}, True),
        ({"tags": ["a", "b", 3]}, True),
        ({"tags": ["b", "a", 3]}, False),  # a whole array compares in order
        ({"team": pointer("t1")}, True),
        ({"team": pointer("t2")}, False),
        ({"team": pointer("t1", "Other")}, False),
        ({"members": pointer("u2", "_User")}, True),
        ({"born": date("1990-01-02T03:04:05.678Z")}, True),
        ({"born": "1990-01-02T03:04:05.678Z"}, True),  # on a Date field an ISO string is a date
        ({"meta": {"level": 3, "city": "Oslo", "empty": None, "deep": {"x": [1, 2]}}}, True),
        ({"meta": {"level": 3}}, False),  # object equality is whole
        ({"meta.city": "Oslo"}, True),
        ({"meta.deep.x": [1, 2]}, True),
        ({"meta.deep.x": 1}, False),  # no array containment under a dotted key, as in SQL
        ({"avatar": {"__type": "File", "name": "f-avatar.png"}}, True),  # the url is not part of the value
        ({"objectId": "abc123"}, True),
        ({"createdAt": date("2024-05-01T10:00:00.000Z")}, True),
        ({"createdAt": "2024-05-01T10:00:00.000Z"}, True),
        ({"missing": None}, True),  # null matches a missing field
        ({"nothing": None}, False),  # a stored null is a value: the field exists
        ({"meta.empty": None}, True),  # inside objects a null counts as missing
        ({"name": {"$eq": "Ada"}}, True),
    ],
)
def test_equality(where: dict[str, Any], expected: bool) -> None:
    assert matches(where) is expected


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"name": {"$ne": "Bob"}}, True),
        ({"missing": {"$ne": "x"}}, True),  # $ne matches missing fields
        ({"tags": {"$ne": "a"}}, False),
        ({"missing": {"$nin": ["x"]}}, True),
        ({"name": {"$nin": ["Ada", "Bob"]}}, False),
        ({"name": {"$in": ["Bob", "Ada"]}}, True),
        ({"tags": {"$in": ["z", 3]}}, True),
        ({"tags": {"$in": []}}, False),
        ({"missing": {"$in": [None]}}, True),
        ({"name": {"$in": [None]}}, False),
        ({"name": {"$in": [["Ada"]]}}, True),  # nested lists are flattened, as on the SQL side
        ({"team": {"$in": [pointer("t9"), pointer("t1")]}}, True),
        ({"objectId": {"$in": ["x", "abc123"]}}, True),
        ({"createdAt": {"$in": ["2024-05-01T10:00:00.000Z"]}}, True),
        ({"born": {"$in": ["1990-01-02T03:04:05.678Z"]}}, True),
    ],
)
def test_membership_and_negation(where: dict[str, Any], expected: bool) -> None:
    assert matches(where) is expected


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"score": {"$gt": 5, "$lte": 10}}, True),
        ({"score": {"$lt": 10}}, False),
        ({"ratio": {"$gte": 0.5}}, True),
        ({"score": {"$gt": "5"}}, False),  # type mismatch: never true
        ({"name": {"$gt": "A", "$lt": "B"}}, True),
        ({"name": {"$lt": "a"}}, True),  # code point order: "A" < "a"
        ({"flag": {"$gt": False}}, True),
        ({"missing": {"$lt": 100}}, False),
        ({"score": {"$lt": None}}, False),
        ({"born": {"$lt": date("2000-01-01T00:00:00.000Z")}}, True),
        ({"born": {"$gt": "1990-01-02T03:04:05.000Z"}}, True),
        ({"createdAt": {"$lt": date("2024-05-01T10:00:00.001Z")}}, True),
        ({"createdAt": {"$lt": date("2024-05-01T10:00:00.000Z")}}, False),
        ({"updatedAt": {"$gte": "2024-05-02T10:00:00.000Z"}}, True),
        ({"objectId": {"$gt": "abc"}}, True),
        ({"createdAt": {"$lt": {"$relativeTime": "1 day ago"}}}, True),
        ({"createdAt": {"$gt": {"$relativeTime": "in 1 day"}}}, False),
        ({"born": {"$lt": {"$relativeTime": "20 years ago"}}}, True),
        ({"meta.level": {"$gte": 3}}, True),
    ],
)
def test_ordering(where: dict[str, Any], expected: bool) -> None:
    assert matches(where) is expected


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"name": {"$exists": True}}, True),
        ({"missing": {"$exists": True}}, False),
        ({"missing": {"$exists": False}}, True),
        ({"nothing": {"$exists": True}}, True),
        ({"meta.empty": {"$exists": True}}, False),
        ({"meta.city": {"$exists": True}}, True),
        ({"friends": {"$exists": True}}, False),  # relations are not in the object's data
        ({"objectId": {"$exists": False}}, False),
        ({"tags": {"$all": ["a", 3]}}, True),
        ({"tags": {"$all": ["a", "z"]}}, False),
        ({"tags": {"$all": []}}, False),
        ({"name": {"$all": ["Ada"]}}, False),  # not an array
        ({"tags": {"$all": [{"$regex": "^a"}, {"$regex": "3"}]}}, True),
        ({"tags": {"$containedBy": ["a", "b", 3, 4]}}, True),
        ({"tags": {"$containedBy": ["a", "b"]}}, False),
        ({"name": {"$containedBy": ["Ada"]}}, False),
        ({"members": {"$all": [pointer("u1", "_User")]}}, True),
    ],
)
def test_existence_and_arrays(where: dict[str, Any], expected: bool) -> None:
    assert matches(where) is expected


@pytest.mark.parametrize(
    ("where", "text", "expected"),
    [
        ({"$regex": "^Ad"}, "Ada", True),
        ({"$regex": "^ad"}, "Ada", False),
        ({"$regex": "^ad", "$options": "i"}, "Ada", True),
        ({"$regex": "a$"}, "Ada\n", False),  # $ is the very end (PostgreSQL), not before a final newline
        ({"$regex": "a$", "$options": "m"}, "Ada\nx", True),
        ({"$regex": "a.x"}, "a\nx", False),
        ({"$regex": "a.x", "$options": "s"}, "a\nx", True),
        ({"$regex": "a[^b]x"}, "a\nx", False),  # negated brackets skip newlines too, as in an ARE
        ({"$regex": r"\Qa.b\E"}, "a.b", True),
        ({"$regex": r"\Qa.b\E"}, "axb", False),
        ({"$regex": r"\bda"}, "Ada", False),
        ({"$regex": r"\d+"}, "x12", True),
        ({"$regex": "a b", "$options": "x"}, "ab", True),
    ],
)
def test_regex(where: dict[str, Any], text: str, expected: bool) -> None:
    assert matches({"name": where}, {**OBJ, "name": text}) is expected


def test_regex_on_arrays_numbers_and_system_fields() -> None:
    assert matches({"tags": {"$regex": "^b$"}})
    assert matches({"score": {"$regex": "^10$"}})
    assert matches({"createdAt": {"$regex": "^2024-05"}})
    assert not matches({"missing": {"$regex": ".*"}})
    assert not matches({"nothing": {"$regex": ".*"}})


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"where": {"$nearSphere": geopoint(59.9, 10.7)}}, True),
        ({"missing": {"$nearSphere": geopoint(59.9, 10.7)}}, False),
        ({"where": {"$nearSphere": geopoint(59.9, 10.7), "$maxDistanceInKilometers": 10}}, True),
        ({"where": {"$nearSphere": geopoint(48.85, 2.35), "$maxDistanceInKilometers": 10}}, False),
        ({"where": {"$nearSphere": geopoint(48.85, 2.35), "$maxDistanceInMiles": 1000}}, True),
        ({"where": {"$nearSphere": geopoint(48.85, 2.35), "$maxDistance": 0.01}}, False),
        ({"where": {"$within": {"$box": [geopoint(59, 10), geopoint(60, 11)]}}}, True),
        ({"where": {"$within": {"$box": [geopoint(60, 11), geopoint(59, 10)]}}}, True),  # corners in any order
        ({"where": {"$within": {"$box": [geopoint(50, 10), geopoint(59, 11)]}}}, False),
        ({"where": {"$geoWithin": {"$centerSphere": [[10.7, 59.9], 0.01]}}}, True),
        ({"where": {"$geoWithin": {"$polygon": [geopoint(59, 10), geopoint(61, 10), geopoint(61, 12)]}}}, True),
        ({"where": {"$geoWithin": {"$polygon": [geopoint(0, 0), geopoint(1, 0), geopoint(1, 1)]}}}, False),
        ({"area": {"$geoIntersects": {"$point": geopoint(1, 1)}}}, True),
        ({"area": {"$geoIntersects": {"$point": geopoint(2, 1)}}}, True),  # on the outline
        ({"area": {"$geoIntersects": {"$point": geopoint(3, 1)}}}, False),
        ({"name": {"$geoIntersects": {"$point": geopoint(1, 1)}}}, False),
    ],
)
def test_geo(where: dict[str, Any], expected: bool) -> None:
    assert matches(where) is expected


def test_concave_polygon_follows_postgresql() -> None:
    """A point in the notch of a concave polygon is outside it."""
    notch = [geopoint(0, 0), geopoint(4, 0), geopoint(4, 4), geopoint(2, 1), geopoint(0, 4)]
    inside = {**OBJ, "where": geopoint(1, 0.5)}
    in_notch = {**OBJ, "where": geopoint(2, 3)}
    where = {"where": {"$geoWithin": {"$polygon": notch}}}
    assert matches(where, inside)
    assert not matches(where, in_notch)


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"$or": [{"name": "Bob"}, {"score": 10}]}, True),
        ({"$or": []}, False),
        ({"$and": [{"name": "Ada"}, {"score": {"$gt": 10}}]}, False),
        ({"$and": []}, True),
        ({"$nor": [{"name": "Bob"}, {"score": 11}]}, True),
        ({"$nor": [{"name": "Ada"}]}, False),
        ({"$or": [{"$and": [{"name": "Ada"}, {"tags": "b"}]}], "flag": True}, True),
        ({"name": "Ada", "score": 11}, False),
    ],
)
def test_logic(where: dict[str, Any], expected: bool) -> None:
    assert matches(where) is expected


@pytest.mark.parametrize(
    ("where", "code"),
    [
        ([], INVALID_QUERY),
        ({"ACL": {"*": {"read": True}}}, INVALID_QUERY),
        ({"$or": {"name": "Ada"}}, INVALID_QUERY),
        ({"$nor": []}, INVALID_QUERY),
        ({"$where": "1"}, INVALID_KEY_NAME),
        ({"bad-key": 1}, INVALID_KEY_NAME),
        ({"_hashed_password": "x"}, INVALID_KEY_NAME),
        ({"name": {"$bogus": 1}}, INVALID_JSON),
        ({"name": {"$in": "Ada"}}, INVALID_JSON),
        ({"name": {"$regex": 3}}, INVALID_JSON),
        ({"name": {"$regex": "a", "$options": "g"}}, INVALID_QUERY),
        ({"name": {"$regex": "(a"}}, INVALID_QUERY),
        ({"name": "a\x00b"}, INVALID_QUERY),
        ({"born": {"$eq": {"$relativeTime": "1 day ago"}}}, INVALID_JSON),
        ({"born": {"$lt": {"$relativeTime": "yesterday"}}}, INVALID_JSON),
        ({"born": {"__type": "Date", "iso": "not a date"}}, INCORRECT_TYPE),
        ({"objectId": {"$gt": {"$relativeTime": "1 day ago"}}}, INVALID_JSON),
        ({"where": {"$nearSphere": geopoint(91, 0)}}, INVALID_JSON),
        ({"where": {"$nearSphere": geopoint(0, 0), "$maxDistance": -1}}, INVALID_JSON),
        ({"where": {"$within": {"$box": [geopoint(0, 0)]}}}, INVALID_JSON),
        ({"where": {"$geoWithin": {"$polygon": [geopoint(0, 0)]}}}, INVALID_JSON),
        ({"tags": {"$all": [{"$regex": "a"}, "b"]}}, INVALID_JSON),
    ],
)
def test_bad_queries_are_refused_like_the_sql_compiler(where: Any, code: int) -> None:
    assert refused(where).code == code


def test_nesting_and_size_limits() -> None:
    deep: dict[str, Any] = {"name": "Ada"}
    for _ in range(17):
        deep = {"$or": [deep]}
    assert "nested too deeply" in refused(deep).message
    assert "too complex" in refused({"name": {"$in": list(range(6000))}}).message


@pytest.mark.parametrize(
    ("where", "operator"),
    [
        ({"team": {"$inQuery": {"className": "Team", "where": {}}}}, "$inQuery"),
        ({"team": {"$notInQuery": {"className": "Team", "where": {}}}}, "$notInQuery"),
        ({"name": {"$select": {"query": {"className": "T", "where": {}}, "key": "n"}}}, "$select"),
        ({"name": {"$dontSelect": {"query": {"className": "T", "where": {}}, "key": "n"}}}, "$dontSelect"),
        ({"$relatedTo": {"object": pointer("t1"), "key": "members"}}, "$relatedTo"),
        ({"name": {"$text": {"$search": {"$term": "ada"}}}}, "$text"),
        ({"$or": [{"name": {"$text": {"$search": {"$term": "ada"}}}}]}, "$text"),
    ],
)
def test_unsupported_operators_are_a_clear_error(where: dict[str, Any], operator: str) -> None:
    with pytest.raises(UnsupportedQuery) as caught:
        compile_matcher(where)
    assert caught.value.code == INVALID_QUERY
    assert caught.value.message == f"LiveQuery does not support {operator}"


def test_regex_constructs_the_matcher_cannot_reproduce_are_refused() -> None:
    with pytest.raises(UnsupportedQuery):
        compile_matcher({"name": {"$regex": "[[:alpha:]]"}})
    with pytest.raises(UnsupportedQuery):
        compile_matcher({"name": {"$regex": r"\x41"}})


def test_relation_fields_are_not_evaluated() -> None:
    """The event carries no relation membership: a relation field matches nothing (and $ne everything)."""
    assert not matches({"friends": pointer("u1", "_User")})
    assert matches({"friends": {"$ne": pointer("u1", "_User")}})


def test_where_fields_lists_the_top_level_fields_read() -> None:
    where = {"name": "Ada", "meta.city": "Oslo", "$or": [{"score": 1}, {"$and": [{"flag": True}]}]}
    assert where_fields(where) == {"name", "meta", "score", "flag"}
