"""Queries through the Parse REST API: where, order, paging, projection, count, include, relations."""

from __future__ import annotations

import pytest

from tests.datastore.conftest import ParseApp

pytestmark = pytest.mark.django_db(transaction=True)


async def _seed_scores(app: ParseApp) -> list[str]:
    ids = []
    for name, score in [("ann", 10), ("bob", 30), ("cid", 20), ("dee", 30)]:
        response = await app.request(
            "POST", "/classes/Score", {"name": name, "score": score, "tags": [name[0]]}, master=True
        )
        ids.append(response.json()["objectId"])
    return ids


async def test_where_order_limit_skip_and_count(app_a: ParseApp):
    await _seed_scores(app_a)
    found = await app_a.request(
        "GET",
        "/classes/Score",
        params={"where": {"score": {"$gte": 20}}, "order": "-score,name", "limit": 2, "count": 1},
    )
    body = found.json()
    assert [r["name"] for r in body["results"]] == ["bob", "dee"]
    assert body["count"] == 3
    skipped = (await app_a.request("GET", "/classes/Score", params={"order": "score", "skip": 1, "limit": 1})).json()
    assert [r["name"] for r in skipped["results"]] == ["cid"]
    only_count = (await app_a.request("GET", "/classes/Score", params={"count": 1, "limit": 0})).json()
    assert only_count == {"results": [], "count": 4}


async def test_query_string_and_js_envelope_forms_agree(app_a: ParseApp, parse_client):
    import orjson

    await _seed_scores(app_a)
    envelope = {
        "_method": "GET", "_ApplicationId": app_a.tenant.application_id,
        "_JavaScriptKey": app_a.tenant.keys["javascript"], "where": {"tags": "b"}, "order": "name",
    }  # fmt: skip
    via_envelope = (await parse_client.post("/parse/classes/Score", content=orjson.dumps(envelope))).json()
    via_query = (await app_a.request("GET", "/classes/Score", params={"where": {"tags": "b"}, "order": "name"})).json()
    assert [r["name"] for r in via_envelope["results"]] == [r["name"] for r in via_query["results"]] == ["bob"]


async def test_keys_and_exclude_keys(app_a: ParseApp):
    await _seed_scores(app_a)
    only_name = (await app_a.request("GET", "/classes/Score", params={"keys": "name", "limit": 1})).json()["results"][0]
    assert set(only_name) == {"objectId", "createdAt", "updatedAt", "name"}
    no_tags = (await app_a.request("GET", "/classes/Score", params={"excludeKeys": "tags", "limit": 1})).json()[
        "results"
    ][0]
    assert "tags" not in no_tags
    assert "score" in no_tags


async def test_bad_query_input_gets_parse_errors_not_500(app_a: ParseApp):
    await _seed_scores(app_a)
    cases = [
        ({"where": "{not json"}, 107),
        ({"where": {"score": {"$bogus": 1}}}, 107),
        ({"where": {"ACL": {"$exists": True}}}, 102),
        ({"limit": "many"}, 102),
        ({"nonsense": 1}, 102),
    ]
    for params, code in cases:
        response = await app_a.request("GET", "/classes/Score", params=params)
        assert response.status_code == 400, (params, response.text)
        assert response.json()["code"] == code, (params, response.json())


async def test_unknown_class_query(app_a: ParseApp):
    assert (await app_a.request("GET", "/classes/Nothing", master=True)).json() == {"results": []}
    assert (await app_a.request("GET", "/classes/Nothing")).json()["code"] == 119


async def test_include_nested_pointers_and_arrays(app_a: ParseApp):
    author = (await app_a.request("POST", "/classes/Author", {"name": "Ada"}, master=True)).json()["objectId"]
    author_ptr = {"__type": "Pointer", "className": "Author", "objectId": author}
    post = (await app_a.request("POST", "/classes/Post", {"title": "t", "author": author_ptr}, master=True)).json()[
        "objectId"
    ]
    post_ptr = {"__type": "Pointer", "className": "Post", "objectId": post}
    hidden = (await app_a.request("POST", "/classes/Post", {"title": "secret", "ACL": {}}, master=True)).json()[
        "objectId"
    ]
    hidden_ptr = {"__type": "Pointer", "className": "Post", "objectId": hidden}
    await app_a.request(
        "POST", "/classes/Comment", {"text": "hi", "post": post_ptr, "posts": [post_ptr, hidden_ptr]}, master=True
    )

    result = (await app_a.request("GET", "/classes/Comment", params={"include": "post.author,posts"})).json()[
        "results"
    ][0]
    assert result["post"]["__type"] == "Object"
    assert result["post"]["className"] == "Post"
    assert result["post"]["author"]["name"] == "Ada"
    # The post the caller may not read is dropped from the array.
    assert [p["title"] for p in result["posts"]] == ["t"]
    projected = (await app_a.request("GET", "/classes/Comment", params={"keys": "text,post.title"})).json()["results"][
        0
    ]
    assert projected["post"]["title"] == "t"
    assert "posts" not in projected


async def test_relations_and_related_to(app_a: ParseApp):
    users = []
    for name in ("u1", "u2", "u3"):
        users.append((await app_a.request("POST", "/classes/Member", {"name": name}, master=True)).json()["objectId"])
    pointers = [{"__type": "Pointer", "className": "Member", "objectId": i} for i in users]
    team = (
        await app_a.request(
            "POST",
            "/classes/Team",
            {"name": "t", "members": {"__op": "AddRelation", "objects": pointers[:2]}},
            master=True,
        )
    ).json()["objectId"]
    got = (await app_a.request("GET", f"/classes/Team/{team}")).json()
    assert got["members"] == {"__type": "Relation", "className": "Member"}
    where = {"$relatedTo": {"object": {"__type": "Pointer", "className": "Team", "objectId": team}, "key": "members"}}
    related = (await app_a.request("GET", "/classes/Member", params={"where": where, "order": "name"})).json()[
        "results"
    ]
    assert [m["name"] for m in related] == ["u1", "u2"]
    await app_a.request(
        "PUT", f"/classes/Team/{team}",
        {"members": {"__op": "Batch", "ops": [
            {"__op": "AddRelation", "objects": [pointers[2]]},
            {"__op": "RemoveRelation", "objects": [pointers[0]]},
        ]}},
    )  # fmt: skip
    related = (await app_a.request("GET", "/classes/Member", params={"where": where, "order": "name"})).json()[
        "results"
    ]
    assert [m["name"] for m in related] == ["u2", "u3"]


async def test_invalid_regex_is_a_parse_error(app_a: ParseApp):
    await _seed_scores(app_a)
    response = await app_a.request("GET", "/classes/Score", params={"where": {"name": {"$regex": "(?<name>a)"}}})
    assert response.status_code == 400
    assert response.json()["code"] == 102


async def test_protected_fields_cannot_be_queried(app_a: ParseApp):
    from asgiref.sync import sync_to_async

    from tests.datastore.conftest import insert_user_with_session

    user_id, token = await sync_to_async(insert_user_with_session)(app_a.tenant, "zed")
    await app_a.request("PUT", f"/classes/_User/{user_id}", {"email": "zed@example.com"}, master=True)
    probe = await app_a.request("GET", "/classes/_User", params={"where": {"email": "zed@example.com"}}, session=token)
    assert probe.json() == {"code": 119, "error": "This user is not allowed to query email on class _User"}
    assert (
        await app_a.request("GET", "/classes/_User", params={"where": {"email": "zed@example.com"}}, master=True)
    ).json()["results"]
