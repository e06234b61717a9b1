"""Every read path obeys the rules of a direct read: hidden fields, CLP, pointer permissions, include bounds.

A client may not constrain, sort or sub-select on hidden fields (authData, protected
fields, internal underscored fields) in any syntax; the inner class of a sub-query, the
owner of ``$relatedTo`` and include targets apply their own CLP, pointer permissions
and ACL; include work per request is bounded.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from tests.datastore.conftest import ParseApp, insert_user_with_session, set_clp

pytestmark = pytest.mark.django_db(transaction=True)

VICTIM_ANONYMOUS_ID = "3bb2b2a6-0000-4000-8000-00000000beef"
FORBIDDEN_AUTH_DATA = {"code": 119, "error": "This user is not allowed to query authData on class _User"}


async def _sync(function, *args):
    from asgiref.sync import sync_to_async

    return await sync_to_async(function)(*args)


async def _create(app: ParseApp, class_name: str, body: dict) -> str:
    response = await app.request("POST", f"/classes/{class_name}", body, master=True)
    assert response.status_code == 201, response.text
    return response.json()["objectId"]


def _pointer(class_name: str, object_id: str) -> dict[str, str]:
    return {"__type": "Pointer", "className": class_name, "objectId": object_id}


async def _find(app: ParseApp, class_name: str, session: str | None = None, **params: Any) -> Any:
    return await app.request("GET", f"/classes/{class_name}", params=params, session=session)


# --- Finding 2: hidden authData (and other hidden fields) is not searchable ------------------------


@pytest.fixture
async def anonymous_victim(app_a: ParseApp) -> dict[str, Any]:
    """An anonymous user whose row everyone may read (an app that made its users public)."""
    signed_up = await app_a.request("POST", "/users", {"authData": {"anonymous": {"id": VICTIM_ANONYMOUS_ID}}})
    assert signed_up.status_code == 201, signed_up.text
    user = signed_up.json()
    made_public = await app_a.request("PUT", f"/users/{user['objectId']}", {"ACL": {"*": {"read": True}}}, master=True)
    assert made_public.status_code == 200, made_public.text
    return user


AUTH_DATA_WHERES = [
    {"authData.anonymous.id": {"$regex": "^3bb"}},
    {"authData.anonymous.id": {"$gt": "3"}},
    {"authData.anonymous.id": VICTIM_ANONYMOUS_ID},
    {"authData.anonymous": {"$exists": True}},
    {"authData": {"$exists": True}},
    {"authData": {"anonymous": {"id": VICTIM_ANONYMOUS_ID}}},
    {"authData": {"$in": [{"anonymous": {"id": VICTIM_ANONYMOUS_ID}}]}},
    {"$or": [{"username": "nobody"}, {"authData.anonymous.id": {"$regex": "^3"}}]},
    {"$and": [{"authData.anonymous.id": {"$regex": "^3"}}]},
    {"$nor": [{"authData.anonymous.id": {"$regex": "^4"}}]},
    {"$or": [{"$and": [{"authData.anonymous.id": {"$regex": "^3"}}]}]},
]


@pytest.mark.parametrize("where", AUTH_DATA_WHERES)
async def test_no_client_where_on_auth_data_in_any_syntax(app_a: ParseApp, anonymous_victim: dict, where: dict):
    _, attacker_token = await _sync(insert_user_with_session, app_a.tenant, "mallory")
    for session in (None, attacker_token, anonymous_victim["sessionToken"]):
        for route in ("/classes/_User", "/users"):
            response = await app_a.request("GET", route, params={"where": where}, session=session)
            assert response.json() == FORBIDDEN_AUTH_DATA, (route, session)
        counted = await _find(app_a, "_User", session, where=where, count="1", limit="0")
        assert counted.json() == FORBIDDEN_AUTH_DATA


async def test_regex_prefix_oracle_on_anonymous_id_is_refused(app_a: ParseApp, anonymous_victim: dict):
    """The attack of the report: guess authData.anonymous.id one character at a time, then log in with it."""
    recovered = ""
    for _ in range(3):
        for char in "0123456789abcdef-":
            where = {
                "objectId": anonymous_victim["objectId"],
                "authData.anonymous.id": {"$regex": f"^{recovered}{char}"},
            }
            response = await _find(app_a, "_User", where=where)
            assert response.json() == FORBIDDEN_AUTH_DATA
            if response.json().get("results"):
                recovered += char
                break
    assert recovered == ""


async def test_no_client_order_or_sub_select_on_auth_data(app_a: ParseApp, anonymous_victim: dict):
    owner = _pointer("_User", anonymous_victim["objectId"])
    await _create(app_a, "Item", {"owner": owner, "name": VICTIM_ANONYMOUS_ID})
    assert (await _find(app_a, "_User", order="authData")).json() == FORBIDDEN_AUTH_DATA
    assert (await _find(app_a, "_User", order="-authData.anonymous")).json() == FORBIDDEN_AUTH_DATA
    assert (await _find(app_a, "_User", order="authData.anonymous.id")).json()["code"] in (105, 119)
    sub_query = {"className": "_User", "where": {"authData.anonymous.id": {"$regex": "^3"}}}
    inner_select = {"query": {"className": "_User", "where": {}}, "key": "authData.anonymous.id"}
    for where in (
        {"owner": {"$inQuery": sub_query}},
        {"owner": {"$notInQuery": sub_query}},
        {"name": {"$select": inner_select}},
        {"name": {"$dontSelect": inner_select}},
        {"name": {"$select": {"query": {"className": "_User", "where": {}}, "key": "authData"}}},
        {"$or": [{"owner": {"$inQuery": {"className": "_User", "where": {"$or": [sub_query["where"]]}}}}]},
    ):
        assert (await _find(app_a, "Item", where=where)).json() == FORBIDDEN_AUTH_DATA, where


async def test_internal_user_fields_are_not_queryable_by_clients(app_a: ParseApp, anonymous_victim: dict):
    for name in ("_hashed_password", "_failed_login_count", "_email_verify_token", "_perishable_token", "_rperm"):
        response = await _find(app_a, "_User", where={name: {"$exists": True}})
        assert response.json()["code"] == 105, name
        assert (await _find(app_a, "_User", order=name)).json()["code"] == 105, name
    assert (await _find(app_a, "_User", where={"authData._x": {"$exists": True}})).json()["code"] in (105, 119)
    # Without a session, _Session refuses any client query first (209); either way nothing is read.
    answer = await _find(app_a, "_Session", where={"_session_token_hash": {"$exists": True}})
    assert answer.json()["code"] in (105, 209)
    assert (await _find(app_a, "_User", where={"ACL": {"$exists": True}})).json()["code"] == 102


async def test_master_key_may_still_query_auth_data(app_a: ParseApp, anonymous_victim: dict):
    response = await app_a.request(
        "GET", "/classes/_User", params={"where": {"authData.anonymous.id": VICTIM_ANONYMOUS_ID}}, master=True
    )
    assert [user["objectId"] for user in response.json()["results"]] == [anonymous_victim["objectId"]]


async def test_auth_data_oracle_is_refused_inside_a_batch(app_a: ParseApp, anonymous_victim: dict):
    where = {"authData.anonymous.id": {"$regex": "^3"}}
    batch = {"requests": [{"method": "GET", "path": "/parse/classes/_User", "body": {"where": where}}]}
    response = await app_a.request("POST", "/batch", batch)
    assert response.json() == [{"error": FORBIDDEN_AUTH_DATA}]


async def test_protected_fields_are_not_queryable_through_sub_queries(app_a: ParseApp):
    await _create(app_a, "Profile", {"salary": 100, "nick": "p"})
    await _create(app_a, "Probe", {"n": 100})
    await set_clp(app_a, "Profile", {"protectedFields": {"*": ["salary"]}})
    expected = {"code": 119, "error": "This user is not allowed to query salary on class Profile"}
    assert (await _find(app_a, "Profile", where={"salary": {"$gt": 50}})).json() == expected
    select = {"query": {"className": "Profile", "where": {}}, "key": "salary"}
    assert (await _find(app_a, "Probe", where={"n": {"$select": select}})).json() == expected
    in_query = {"className": "Profile", "where": {"salary": {"$gt": 50}}}
    assert (await _find(app_a, "Probe", where={"p": {"$inQuery": in_query}})).json() == expected
    assert (await _find(app_a, "Profile", order="-salary")).json() == expected


# --- Finding 3: sub-queries, $relatedTo, count and include obey pointer permissions ----------------


@pytest.fixture
async def diaries(app_a: ParseApp) -> dict[str, Any]:
    """Olga's and Oscar's diaries in a class whose get and find are limited to the owner."""
    olga, olga_token = await _sync(insert_user_with_session, app_a.tenant, "olga")
    oscar, oscar_token = await _sync(insert_user_with_session, app_a.tenant, "oscar")
    olga_diary = await _create(app_a, "Diary", {"owner": _pointer("_User", olga), "entry": "secret-olga"})
    oscar_diary = await _create(app_a, "Diary", {"owner": _pointer("_User", oscar), "entry": "secret-oscar"})
    probe = await _create(app_a, "Probe", {"diary": _pointer("Diary", olga_diary), "text": "secret-olga"})
    await _create(
        app_a, "Diary", {"owner": _pointer("_User", olga), "entry": "with-tags",
                         "tags": {"__op": "AddRelation", "objects": [_pointer("Probe", probe)]}},
    )  # fmt: skip
    await set_clp(app_a, "Diary", {"get": {"pointerFields": ["owner"]}, "find": {"pointerFields": ["owner"]}})
    return {
        "olga_diary": olga_diary, "oscar_diary": oscar_diary, "probe": probe,
        "olga_token": olga_token, "oscar_token": oscar_token,
    }  # fmt: skip


async def _probe_ids(app: ParseApp, where: dict, session: str | None) -> list[str]:
    response = await _find(app, "Probe", session, where=where)
    assert response.status_code == 200, response.text
    return [obj["objectId"] for obj in response.json()["results"]]


async def test_in_query_is_no_oracle_on_other_owners_rows(app_a: ParseApp, diaries: dict):
    for guess in ("secret-olga", "wrong"):
        where = {"diary": {"$inQuery": {"className": "Diary", "where": {"entry": guess}}}}
        assert await _probe_ids(app_a, where, diaries["oscar_token"]) == []
        assert await _probe_ids(app_a, where, None) == []
        counted = await _find(app_a, "Probe", diaries["oscar_token"], where=where, count="1", limit="0")
        assert counted.json() == {"results": [], "count": 0}
    # The owner still finds her own rows through the same sub-query.
    where = {"diary": {"$inQuery": {"className": "Diary", "where": {"entry": "secret-olga"}}}}
    assert await _probe_ids(app_a, where, diaries["olga_token"]) == [diaries["probe"]]


async def test_not_in_query_is_no_oracle_on_other_owners_rows(app_a: ParseApp, diaries: dict):
    for guess in ("secret-olga", "wrong"):
        where = {"diary": {"$notInQuery": {"className": "Diary", "where": {"entry": guess}}}}
        assert await _probe_ids(app_a, where, diaries["oscar_token"]) == [diaries["probe"]]
    where = {"diary": {"$notInQuery": {"className": "Diary", "where": {"entry": "secret-olga"}}}}
    assert await _probe_ids(app_a, where, diaries["olga_token"]) == []


async def test_select_and_dont_select_are_no_oracle_on_other_owners_rows(app_a: ParseApp, diaries: dict):
    select = {"query": {"className": "Diary", "where": {}}, "key": "entry"}
    assert await _probe_ids(app_a, {"text": {"$select": select}}, diaries["oscar_token"]) == []
    assert await _probe_ids(app_a, {"text": {"$dontSelect": select}}, diaries["oscar_token"]) == [diaries["probe"]]
    assert await _probe_ids(app_a, {"text": {"$select": select}}, diaries["olga_token"]) == [diaries["probe"]]
    assert await _probe_ids(app_a, {"text": {"$dontSelect": select}}, diaries["olga_token"]) == []
    nested = {"$or": [{"text": {"$select": {"query": {"className": "Diary", "where": {"entry": {"$regex": "^s"}}},
                                            "key": "entry"}}}]}  # fmt: skip
    assert await _probe_ids(app_a, nested, diaries["oscar_token"]) == []


async def test_sub_query_on_a_class_the_caller_may_not_find_is_refused(app_a: ParseApp, diaries: dict):
    await set_clp(app_a, "Diary", {"find": {}, "get": {"*": True}})
    where = {"diary": {"$inQuery": {"className": "Diary", "where": {"entry": "secret-olga"}}}}
    response = await _find(app_a, "Probe", diaries["oscar_token"], where=where)
    assert response.json() == {"code": 119, "error": "Permission denied for action find on class Diary."}


async def test_related_to_needs_a_readable_owner(app_a: ParseApp, diaries: dict):
    def owner_with_tags() -> str:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT object_id FROM datastore_object WHERE app_id = %s AND class_name = 'Diary' "
                "AND data->>'entry' = 'with-tags'",
                [app_a.tenant.app.pk],
            )
            return cursor.fetchone()[0]

    where = {"$relatedTo": {"object": _pointer("Diary", await _sync(owner_with_tags)), "key": "tags"}}
    assert await _probe_ids(app_a, where, diaries["olga_token"]) == [diaries["probe"]]
    assert await _probe_ids(app_a, where, diaries["oscar_token"]) == []
    assert await _probe_ids(app_a, where, None) == []
    await set_clp(app_a, "Diary", {"get": {}, "find": {}})
    refused = await _find(app_a, "Probe", diaries["olga_token"], where=where)
    assert refused.json() == {"code": 119, "error": "Permission denied for action get on class Diary."}


async def test_related_to_owner_hidden_by_its_acl_yields_nothing(app_a: ParseApp):
    member = await _create(app_a, "Tag", {"n": 1})
    owner = await _create(
        app_a, "Box", {"ACL": {}, "tags": {"__op": "AddRelation", "objects": [_pointer("Tag", member)]}}
    )
    where = {"$relatedTo": {"object": _pointer("Box", owner), "key": "tags"}}
    assert (await _find(app_a, "Tag", where=where)).json() == {"results": []}
    as_master = await app_a.request("GET", "/classes/Tag", params={"where": where}, master=True)
    assert [obj["objectId"] for obj in as_master.json()["results"]] == [member]


async def test_include_applies_the_target_classes_rules(app_a: ParseApp, diaries: dict):
    as_oscar = await _find(app_a, "Probe", diaries["oscar_token"], include="diary")
    assert as_oscar.status_code == 200
    assert all("entry" not in str(obj.get("diary")) for obj in as_oscar.json()["results"])
    as_olga = await _find(app_a, "Probe", diaries["olga_token"], include="diary")
    assert as_olga.json()["results"][0]["diary"]["entry"] == "secret-olga"


async def test_include_hides_protected_fields_and_others_auth_data(app_a: ParseApp, anonymous_victim: dict):
    profile = await _create(app_a, "Profile", {"salary": 100, "nick": "p"})
    await set_clp(app_a, "Profile", {"protectedFields": {"*": ["salary"]}})
    await _create(app_a, "Card", {"profile": _pointer("Profile", profile),
                                  "user": _pointer("_User", anonymous_victim["objectId"])})  # fmt: skip
    card = (await _find(app_a, "Card", include="profile,user")).json()["results"][0]
    assert card["profile"]["nick"] == "p"
    assert "salary" not in card["profile"]
    assert card["user"]["objectId"] == anonymous_victim["objectId"]
    assert "authData" not in card["user"]


async def test_aggregate_and_distinct_need_the_master_key(app_a: ParseApp, anonymous_victim: dict):
    for params in ({"distinct": "authData"}, {"pipeline": [{"$group": {"_id": "$authData"}}]}):
        response = await app_a.request(
            "GET", "/aggregate/_User", params=params, session=anonymous_victim["sessionToken"]
        )
        assert response.status_code in (401, 403)
        assert "master key" in response.text


# --- Finding 8: include work is bounded per request ------------------------------------------------


def _paths(depth: int) -> list[str]:
    paths = [""]
    out = []
    for _ in range(depth):
        paths = [f"{prefix}.{key}".lstrip(".") for prefix in paths for key in "abc"]
        out += paths
    return out


async def test_too_many_include_paths_answer_102(app_a: ParseApp, settings):
    node = await _create(app_a, "Node", {"n": 0})
    await _create(
        app_a, "Node", {"a": _pointer("Node", node), "b": _pointer("Node", node), "c": _pointer("Node", node)}
    )
    many = _paths(4)  # 120 distinct paths from 3 self-pointers
    response = await _find(app_a, "Node", include=",".join(many))
    assert response.status_code == 400
    assert response.json()["code"] == 102
    assert "include" in response.json()["error"]
    # Every prefix counts: 40 leaves of depth 4 expand to more than 50 paths.
    leaves = [path for path in many if path.count(".") == 3][:40]
    assert (await _find(app_a, "Node", include=",".join(leaves))).json()["code"] == 102
    settings.HANGAR_MAX_INCLUDE_PATHS = 200
    assert (await _find(app_a, "Node", include=",".join(many))).status_code == 200
    assert (await _find(app_a, "Node", include="a.b,c")).status_code == 200


async def test_include_of_too_many_objects_answers_102(app_a: ParseApp, settings):
    settings.HANGAR_MAX_INCLUDED_OBJECTS = 3
    targets = [await _create(app_a, "Leaf", {"n": n}) for n in range(4)]
    await _create(app_a, "Tree", {"leaves": [_pointer("Leaf", leaf) for leaf in targets]})
    response = await _find(app_a, "Tree", include="leaves")
    assert response.status_code == 400
    assert response.json()["code"] == 102
    assert "include" in response.json()["error"]
    all_response = await _find(app_a, "Tree", includeAll="1")
    assert all_response.json()["code"] == 102
    settings.HANGAR_MAX_INCLUDED_OBJECTS = 4
    included = (await _find(app_a, "Tree", include="leaves")).json()["results"][0]["leaves"]
    assert sorted(leaf["n"] for leaf in included) == [0, 1, 2, 3]
