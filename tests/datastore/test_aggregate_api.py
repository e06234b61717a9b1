"""``GET /aggregate/:className``: distinct values and pipelines, master key only (reference §13.5)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from tests.datastore.conftest import ParseApp

pytestmark = pytest.mark.django_db(transaction=True)

SCORES = [
    {"player": "ann", "team": "red", "score": 10, "tags": ["a", "b"], "due": "2024-01-05T10:00:00.000Z"},
    {"player": "bob", "team": "red", "score": 30, "tags": ["b"], "due": "2024-03-01T00:00:00.000Z"},
    {"player": "cid", "team": "blue", "score": 5, "tags": ["c"], "due": "2023-12-31T23:59:59.999Z"},
    {"player": "dee", "team": "blue", "score": 7.5, "tags": [], "due": "2024-02-10T12:00:00.000Z"},
    {"player": "eve", "team": "green", "score": 100, "tags": ["a"], "due": "2024-01-01T00:00:00.000Z"},
]


async def _create(app: ParseApp, class_name: str, body: dict[str, Any]) -> str:
    response = await app.request("POST", f"/classes/{class_name}", body, master=True)
    assert response.status_code == 201, response.text
    return response.json()["objectId"]


async def _seed(app: ParseApp) -> dict[str, str]:
    """The SCORES rows as class Score, each owned by a Player; returns player name -> Player id."""
    players = {}
    for row in SCORES:
        players[row["player"]] = await _create(app, "Player", {"name": row["player"]})
        body = {**row, "due": {"__type": "Date", "iso": row["due"]}}
        body["owner"] = {"__type": "Pointer", "className": "Player", "objectId": players[row["player"]]}
        await _create(app, "Score", body)
    return players


async def _aggregate(app: ParseApp, params: dict[str, Any], class_name: str = "Score") -> list[Any]:
    response = await app.request("GET", f"/aggregate/{class_name}", master=True, params=params)
    assert response.status_code == 200, response.text
    return response.json()["results"]


async def _error(app: ParseApp, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = await app.request("GET", "/aggregate/Score", master=True, params=params)
    return response.status_code, response.json()


# --- distinct ---------------------------------------------------------------------------------


async def test_distinct_returns_each_value_once(app_a: ParseApp):
    await _seed(app_a)
    assert sorted(await _aggregate(app_a, {"distinct": "team"})) == ["blue", "green", "red"]


async def test_distinct_with_where(app_a: ParseApp):
    await _seed(app_a)
    results = await _aggregate(app_a, {"distinct": "player", "where": {"score": {"$gte": 10}}})
    assert sorted(results) == ["ann", "bob", "eve"]


async def test_distinct_from_the_body_as_the_js_sdk_sends_it(app_a: ParseApp):
    """query.distinct(): POST with _method GET, the envelope keys and a where object in the body."""
    await _seed(app_a)
    body = {
        "distinct": "team", "where": {"player": {"$in": ["ann", "cid"]}}, "hint": "team_1", "_method": "GET",
        "_ApplicationId": app_a.tenant.application_id, "_MasterKey": app_a.tenant.keys["master"],
        "_ClientVersion": "js5.3.0",
    }  # fmt: skip
    response = await app_a.client.post(
        "/parse/aggregate/Score", content=orjson.dumps(body), headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 200, response.text
    assert sorted(response.json()["results"]) == ["blue", "red"]


async def test_distinct_of_an_array_field_unwinds_it_and_of_a_pointer_gives_pointers(app_a: ParseApp):
    players = await _seed(app_a)
    assert sorted(await _aggregate(app_a, {"distinct": "tags"})) == ["a", "b", "c"]
    owners = await _aggregate(app_a, {"distinct": "owner", "where": {"team": "red"}})
    assert sorted(owners, key=lambda p: p["objectId"]) == sorted(
        ({"__type": "Pointer", "className": "Player", "objectId": players[name]} for name in ("ann", "bob")),
        key=lambda p: p["objectId"],
    )


async def test_distinct_of_a_date_field_gives_dates_and_missing_values_are_left_out(app_a: ParseApp):
    await _seed(app_a)
    await _create(app_a, "Score", {"player": "zed"})
    dues = await _aggregate(app_a, {"distinct": "due", "where": {"team": "red"}})
    assert sorted(d["iso"] for d in dues) == ["2024-01-05T10:00:00.000Z", "2024-03-01T00:00:00.000Z"]
    assert all(d["__type"] == "Date" for d in dues)
    assert sorted(await _aggregate(app_a, {"distinct": "team"})) == ["blue", "green", "red"]


async def test_aggregate_on_a_class_that_does_not_exist_is_empty(app_a: ParseApp):
    assert await _aggregate(app_a, {"distinct": "x"}, class_name="Nothing") == []
    assert await _aggregate(app_a, {"pipeline": [{"$group": {"_id": None, "n": {"$sum": 1}}}]}, "Nothing") == []


# --- $group --------------------------------------------------------------------------------------


async def test_group_by_field_with_every_accumulator(app_a: ParseApp):
    await _seed(app_a)
    group = {
        "_id": "$team", "n": {"$sum": 1}, "total": {"$sum": "$score"}, "mean": {"$avg": "$score"},
        "low": {"$min": "$score"}, "high": {"$max": "$score"}, "rows": {"$count": {}}, "double": {"$sum": 2},
        "first": {"$min": "$player"}, "last": {"$max": "$player"},
    }  # fmt: skip
    results = await _aggregate(app_a, {"pipeline": [{"$group": group}, {"$sort": {"objectId": 1}}]})
    assert results == [
        {"objectId": "blue", "n": 2, "total": 12.5, "mean": 6.25, "low": 5, "high": 7.5, "rows": 2, "double": 4,
         "first": "cid", "last": "dee"},
        {"objectId": "green", "n": 1, "total": 100, "mean": 100, "low": 100, "high": 100, "rows": 1, "double": 2,
         "first": "eve", "last": "eve"},
        {"objectId": "red", "n": 2, "total": 40, "mean": 20, "low": 10, "high": 30, "rows": 2, "double": 4,
         "first": "ann", "last": "bob"},
    ]  # fmt: skip


async def test_group_with_null_id_summarises_the_whole_class(app_a: ParseApp):
    await _seed(app_a)
    results = await _aggregate(
        app_a, {"pipeline": [{"$group": {"_id": None, "total": {"$sum": "$score"}, "n": {"$sum": 1}}}]}
    )
    assert results == [{"objectId": None, "total": 152.5, "n": 5}]


async def test_group_of_no_rows_returns_no_document(app_a: ParseApp):
    await _seed(app_a)
    pipeline = [{"$match": {"team": "purple"}}, {"$group": {"_id": None, "n": {"$sum": 1}}}]
    assert await _aggregate(app_a, {"pipeline": pipeline}) == []


async def test_group_by_composite_key(app_a: ParseApp):
    await _seed(app_a)
    pipeline = [
        {"$match": {"team": "red"}},
        {"$group": {"_id": {"team": "$team", "who": "$player"}, "total": {"$sum": "$score"}}},
        {"$sort": {"total": -1}},
    ]
    assert await _aggregate(app_a, {"pipeline": pipeline}) == [
        {"objectId": {"team": "red", "who": "bob"}, "total": 30},
        {"objectId": {"team": "red", "who": "ann"}, "total": 10},
    ]


async def test_group_by_pointer_gives_the_pointed_object_id(app_a: ParseApp):
    """As Parse Server does, for "$owner" and for the MongoDB column name "$_p_owner"."""
    players = await _seed(app_a)
    for reference in ("$owner", "$_p_owner"):
        pipeline = [{"$match": {"team": "red"}}, {"$group": {"_id": reference, "s": {"$sum": "$score"}}}]
        results = await _aggregate(app_a, {"pipeline": pipeline})
        assert sorted(results, key=lambda r: r["s"]) == [
            {"objectId": players["ann"], "s": 10},
            {"objectId": players["bob"], "s": 30},
        ]


async def test_group_by_date_parts(app_a: ParseApp):
    await _seed(app_a)
    pipeline = [
        {"$group": {"_id": {"year": {"$year": "$due"}, "month": {"$month": "$due"}}, "n": {"$sum": 1}}},
        {"$sort": {"n": -1}},
        {"$limit": 1},
    ]
    assert await _aggregate(app_a, {"pipeline": pipeline}) == [{"objectId": {"year": 2024, "month": 1}, "n": 2}]
    years = await _aggregate(app_a, {"pipeline": [{"$group": {"_id": {"$year": "$createdAt"}, "n": {"$sum": 1}}}]})
    assert [year["n"] for year in years] == [5]
    assert years[0]["objectId"] >= 2024


async def test_min_and_max_of_dates_are_dates(app_a: ParseApp):
    await _seed(app_a)
    group = {"_id": None, "first": {"$min": "$due"}, "last": {"$max": "$due"}, "newest": {"$max": "$createdAt"}}
    (result,) = await _aggregate(app_a, {"pipeline": [{"$group": group}]})
    assert result["first"] == {"__type": "Date", "iso": "2023-12-31T23:59:59.999Z"}
    assert result["last"] == {"__type": "Date", "iso": "2024-03-01T00:00:00.000Z"}
    assert result["newest"]["__type"] == "Date"
    assert result["newest"]["iso"].endswith("Z")


async def test_sum_ignores_objects_without_the_field(app_a: ParseApp):
    await _seed(app_a)
    await _create(app_a, "Score", {"player": "zed", "team": "red"})
    pipeline = [{"$match": {"team": "red"}}, {"$group": {"_id": "$team", "t": {"$sum": "$score"}, "n": {"$sum": 1}}}]
    assert await _aggregate(app_a, {"pipeline": pipeline}) == [{"objectId": "red", "t": 40, "n": 3}]


# --- combinations -----------------------------------------------------------------------------


async def test_match_group_sort_limit(app_a: ParseApp):
    await _seed(app_a)
    pipeline = [
        {"$match": {"score": {"$gt": 6}}},
        {"$group": {"_id": "$team", "total": {"$sum": "$score"}}},
        {"$sort": {"total": -1}},
        {"$limit": 2},
    ]
    assert await _aggregate(app_a, {"pipeline": pipeline}) == [
        {"objectId": "green", "total": 100},
        {"objectId": "red", "total": 40},
    ]


async def test_match_on_accumulator_and_on_group_key_after_group(app_a: ParseApp):
    await _seed(app_a)
    group = {"$group": {"_id": "$team", "total": {"$sum": "$score"}, "n": {"$sum": 1}}}
    big = await _aggregate(app_a, {"pipeline": [group, {"$match": {"total": {"$gte": 40}}}, {"$sort": {"total": 1}}]})
    assert big == [{"objectId": "red", "total": 40, "n": 2}, {"objectId": "green", "total": 100, "n": 1}]
    pairs = await _aggregate(app_a, {"pipeline": [group, {"$match": {"n": 2, "objectId": {"$ne": "red"}}}]})
    assert pairs == [{"objectId": "blue", "total": 12.5, "n": 2}]


async def test_sort_skip_limit_return_whole_objects_in_order(app_a: ParseApp):
    await _seed(app_a)
    results = await _aggregate(app_a, {"pipeline": [{"$sort": {"score": -1}}, {"$skip": 1}, {"$limit": 2}]})
    assert [r["player"] for r in results] == ["bob", "ann"]
    first = results[0]
    assert {"objectId", "createdAt", "updatedAt", "team", "tags", "owner"} <= set(first)
    assert first["due"] == {"__type": "Date", "iso": "2024-03-01T00:00:00.000Z"}


async def test_order_survives_a_later_match(app_a: ParseApp):
    await _seed(app_a)
    pipeline = [{"$sort": {"player": -1}}, {"$match": {"team": {"$ne": "green"}}}, {"$limit": 3}]
    assert [r["player"] for r in await _aggregate(app_a, {"pipeline": pipeline})] == ["dee", "cid", "bob"]


async def test_match_accepts_plain_object_id_for_pointer_and_iso_string_for_date(app_a: ParseApp):
    """As Parse Server's MongoDB adapter does inside $match."""
    players = await _seed(app_a)
    by_owner = await _aggregate(app_a, {"pipeline": [{"$match": {"owner": players["cid"]}}]})
    assert [r["player"] for r in by_owner] == ["cid"]
    recent = await _aggregate(
        app_a, {"pipeline": [{"$match": {"due": {"$gte": "2024-02-01T00:00:00Z"}}}, {"$sort": {"due": 1}}]}
    )
    assert [r["player"] for r in recent] == ["dee", "bob"]


async def test_pipeline_as_json_string_and_as_object_of_stages(app_a: ParseApp):
    await _seed(app_a)
    as_string = await _aggregate(app_a, {"pipeline": '[{"$match": {"team": "blue"}}, {"$count": "n"}]'})
    assert as_string == [{"n": 2}]
    as_object = await _aggregate(app_a, {"pipeline": {"$match": {"team": "red"}, "$count": "n"}})
    assert as_object == [{"n": 2}]
    top_level = await _aggregate(app_a, {"$match": {"team": "green"}, "$count": "n"})
    assert top_level == [{"n": 1}]


async def test_where_with_a_pipeline_filters_its_input(app_a: ParseApp):
    await _seed(app_a)
    assert await _aggregate(app_a, {"where": {"team": "red"}, "pipeline": [{"$count": "n"}]}) == [{"n": 2}]


# --- $project and $count -------------------------------------------------------------------------


async def test_project_keeps_or_drops_fields_of_objects(app_a: ParseApp):
    await _seed(app_a)
    base = [{"$match": {"player": "ann"}}]
    (kept,) = await _aggregate(app_a, {"pipeline": [*base, {"$project": {"score": 1, "createdAt": 1}}]})
    assert set(kept) == {"objectId", "score", "createdAt"}
    assert kept["score"] == 10
    (bare,) = await _aggregate(app_a, {"pipeline": [*base, {"$project": {"score": 1, "objectId": 0}}]})
    assert bare == {"score": 10}
    (dropped,) = await _aggregate(app_a, {"pipeline": [*base, {"$project": {"tags": 0, "owner": 0, "due": 0}}]})
    assert {"tags", "owner", "due"}.isdisjoint(dropped)
    assert {"player", "score", "createdAt"} <= set(dropped)


async def test_project_after_group(app_a: ParseApp):
    await _seed(app_a)
    pipeline = [
        {"$group": {"_id": "$team", "total": {"$sum": "$score"}, "n": {"$sum": 1}}},
        {"$project": {"total": 1}},
        {"$sort": {"total": 1}},
    ]
    assert await _aggregate(app_a, {"pipeline": pipeline}) == [
        {"objectId": "blue", "total": 12.5},
        {"objectId": "red", "total": 40},
        {"objectId": "green", "total": 100},
    ]


async def test_count_stage(app_a: ParseApp):
    await _seed(app_a)
    assert await _aggregate(app_a, {"pipeline": [{"$match": {"score": {"$lt": 10}}}, {"$count": "small"}]}) == [
        {"small": 2}
    ]
    assert await _aggregate(app_a, {"pipeline": [{"$match": {"team": "none"}}, {"$count": "n"}]}) == []


# --- errors -------------------------------------------------------------------------------------


async def test_aggregate_requires_the_master_key(app_a: ParseApp):
    await _seed(app_a)
    response = await app_a.request("GET", "/aggregate/Score", params={"distinct": "team"})
    assert (response.status_code, response.json()) == (403, {"error": "unauthorized: master key is required"})
    response = await app_a.request("GET", "/aggregate/Score", params={"pipeline": [{"$count": "n"}]})
    assert response.status_code == 403


Q = "Invalid parameter for query: "
GROUP = "$group"


def _group(spec: dict[str, Any]) -> dict[str, Any]:
    return {"pipeline": [{GROUP: spec}]}


@pytest.mark.parametrize(
    ("params", "code", "message"),
    [
        ({"pipeline": [{"group": {"_id": None}}]}, 102, "Invalid aggregate stage 'group'."),
        ({"pipeline": [{"$match": {}, "$limit": 1}]}, 102, "Pipeline stages should only have one key but found $match"),
        (_group({"n": {"$sum": 1}}), 102, Q + "group. Missing key _id"),
        (_group({"objectId": "$team"}), 102, "Cannot use 'objectId' in aggregation stage $group."),
        ({"pipeline": [{"$lookup": {"from": "x"}}]}, 102, "The $lookup aggregate stage is not supported."),
        ({"pipeline": [{"$bogus": 1}]}, 102, "Unrecognized pipeline stage name: '$bogus'"),
        ({"pipeline": 5}, 102, Q + "pipeline. Expected an array of stages but got 5."),
        ({"pipeline": "[{"}, 102, Q + "pipeline. Expected a JSON array of stages."),
        ({"pipeline": ["$match"]}, 102, Q + "pipeline. Each stage must be an object"),
        ({"pipeline": [{"$limit": -1}]}, 102, Q + "limit. Expected a positive integer"),
        ({"pipeline": [{"$limit": "10"}]}, 102, Q + "limit."),
        ({"pipeline": [{"$skip": 1.5}]}, 102, Q + "skip."),
        ({"pipeline": [{"$sort": {"score": 2}}]}, 102, "$sort key ordering must be 1 (for ascending) or -1"),
        ({"pipeline": [{"$match": 3}]}, 102, Q + "match."),
        ({"pipeline": [{"$project": {"a": 1, "b": 0}}]}, 102, Q + "project. Cannot mix"),
        ({"pipeline": [{"$project": {"a": "$b"}}]}, 102, Q + "project. Only 1 (keep)"),
        (_group({"_id": None, "x": {"$push": "$a"}}), 102, Q + "group. Unsupported accumulator '$push'"),
        (_group({"_id": None, "x": "$a"}), 102, Q + "group. The field 'x' must be an accumulator object"),
        (_group({"_id": None, "x": {"$sum": "$player"}}), 102, Q + "group. $sum needs a Number field"),
        (_group({"_id": "team"}), 102, Q + 'group. Expected a field reference such as "$score"'),
        (_group({"_id": 5}), 102, Q + "group. _id must be null, a field reference"),
        (_group({"_id": {"$year": "$player"}}), 102, Q + "group. $year needs a Date field"),
        (_group({"_id": {"$toUpper": "$player"}}), 102, Q + "group. Unsupported expression $toUpper"),
        ({"pipeline": [{"$count": 3}]}, 102, Q + "count."),
        (
            {"pipeline": [{GROUP: {"_id": None, "t": {"$sum": 1}}}, {"$match": {"createdAt": {"$exists": True}}}]},
            102,
            Q + "match. createdAt cannot be matched after $group",
        ),
        ({"distinct": {"a": 1}}, 102, Q + "distinct."),
        ({"distinct": "team", "where": "{bad"}, 107, "where must be a JSON object"),
        ({"pipeline": [], "explain": True}, 108, "explain is not supported on aggregate."),
    ],
)
async def test_malformed_requests_answer_parse_errors(app_a: ParseApp, params, code, message):
    await _seed(app_a)
    status, body = await _error(app_a, params)
    assert status == 400, body
    assert body["code"] == code
    assert body["error"].startswith(message), body["error"]


INJECTIONS = ["$a'); DROP TABLE datastore_object; --", '$score"', "$a b", "$a.'b", "$", "$1abc", "$_hashed_password"]


@pytest.mark.parametrize("reference", INJECTIONS)
async def test_field_names_are_validated_not_interpolated(app_a: ParseApp, reference: str):
    await _seed(app_a)
    attempts = [
        {"pipeline": [{"$group": {"_id": reference}}]},
        {"pipeline": [{"$group": {"_id": None, "x": {"$max": reference}}}]},
        {"pipeline": [{"$group": {"_id": {"k": reference}}}]},
        {"pipeline": [{"$sort": {reference[1:] or "'": 1}}]},
        {"distinct": reference[1:] or "'"},
    ]
    for params in attempts:
        status, body = await _error(app_a, params)
        assert status == 400, (params, body)
        assert body["code"] in (102, 105), (params, body)
    for params in (
        {"pipeline": [{"$count": reference[1:] or "'"}]},
        {"pipeline": [{"$group": {"_id": None, reference[1:] or "'": {"$sum": 1}}}]},
        {"pipeline": [{"$project": {reference[1:] or "'": 1}}]},
    ):
        status, body = await _error(app_a, params)
        assert (status, body["code"]) == (400, 105), (params, body)
    assert len(await _aggregate(app_a, {"pipeline": [{"$project": {"score": 1}}]})) == len(SCORES)


async def test_values_travel_as_parameters(app_a: ParseApp):
    """Quotes in values are data: matched literally, and the table survives."""
    await _seed(app_a)
    hostile = "x'); DROP TABLE datastore_object; --"
    await _create(app_a, "Score", {"player": hostile, "team": hostile, "score": 1})
    pipeline = [{"$match": {"team": hostile}}, {"$group": {"_id": "$player", "n": {"$sum": 1}}}]
    assert await _aggregate(app_a, {"pipeline": pipeline}) == [{"objectId": hostile, "n": 1}]
    assert await _aggregate(app_a, {"pipeline": [{"$count": "n"}]}) == [{"n": len(SCORES) + 1}]


async def test_results_past_the_cap_fail_instead_of_being_cut(app_a: ParseApp, monkeypatch: pytest.MonkeyPatch):
    await _seed(app_a)
    monkeypatch.setattr("hangar.datastore.aggregate.selectors.MAX_RESULTS", 3)
    status, body = await _error(app_a, {"pipeline": [{"$sort": {"score": 1}}]})
    assert (status, body["code"]) == (400, 102)
    assert "more than 3 results" in body["error"]
    assert len(await _aggregate(app_a, {"pipeline": [{"$sort": {"score": 1}}, {"$limit": 3}]})) == 3
    assert len(await _aggregate(app_a, {"distinct": "player", "where": {"team": "red"}})) == 2


# --- tenants ------------------------------------------------------------------------------------


async def test_each_app_aggregates_only_its_own_objects(app_a: ParseApp, app_b: ParseApp):
    await _seed(app_a)
    await _create(app_b, "Score", {"player": "bea", "team": "red", "score": 1})
    group = {"pipeline": [{"$group": {"_id": "$team", "total": {"$sum": "$score"}, "n": {"$sum": 1}}}]}
    assert await _aggregate(app_b, group) == [{"objectId": "red", "total": 1, "n": 1}]
    assert await _aggregate(app_b, {"distinct": "player"}) == ["bea"]
    assert [r["player"] for r in await _aggregate(app_b, {"pipeline": [{"$sort": {"score": 1}}]})] == ["bea"]
    red = await _aggregate(app_a, {"pipeline": [{"$match": {"team": "red"}}, {"$count": "n"}]})
    assert red == [{"n": 2}]
    # A's master key cannot read B's class either way round, and B's key does not open A's app.
    response = await app_b.client.get(
        "/parse/aggregate/Score",
        params={"distinct": "player"},
        headers={
            "X-Parse-Application-Id": app_a.tenant.application_id,
            "X-Parse-Master-Key": app_b.tenant.keys["master"],
        },
    )
    assert response.status_code == 403
