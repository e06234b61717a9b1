"""Who hears what: ACLs, roles, CLPs, protected and hidden fields, system classes, sessions, tenants."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from tenants import services
from tests.conftest import Tenant
from tests.realtime.conftest import Rest, user_with_session

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def pointer(class_name: str, object_id: str) -> dict[str, str]:
    return {"__type": "Pointer", "className": class_name, "objectId": object_id}


async def test_private_objects_reach_only_their_readers(live_client, tenant_a: Tenant, rest_a: Rest):
    ada, ada_token = await user_with_session(tenant_a, "ada")
    _ben, ben_token = await user_with_session(tenant_a, "ben")
    await rest_a.call("POST", "/classes/Note", {"seed": True})
    async with live_client() as ada_client, live_client() as ben_client, live_client() as anonymous, \
            live_client() as master:  # fmt: skip
        await ada_client.connect(tenant_a, session=ada_token)
        await ben_client.connect(tenant_a, session=ben_token)
        await anonymous.connect(tenant_a)
        await master.connect(tenant_a, key="master")
        for client in (ada_client, ben_client, anonymous, master):
            assert (await client.subscribe(1, "Note"))["op"] == "subscribed"
        note = await rest_a.call("POST", "/classes/Note", {"text": "ada's", "ACL": {ada: {"read": True}}})
        assert (await ada_client.expect("create"))["object"]["text"] == "ada's"
        assert (await master.expect("create"))["object"]["objectId"] == note["objectId"]
        await ben_client.quiet()
        await anonymous.quiet()
        # Made public: ben enters (he could not read it before), ada updates.
        await rest_a.call("PUT", f"/classes/Note/{note['objectId']}", {"ACL": {"*": {"read": True}}})
        assert (await ben_client.expect("enter"))["object"]["objectId"] == note["objectId"]
        assert (await ada_client.expect("update"))["object"]["objectId"] == note["objectId"]


async def test_per_subscription_session_token_and_roles(live_client, tenant_a: Tenant, rest_a: Rest):
    ada, ada_token = await user_with_session(tenant_a, "ada")
    ben, ben_token = await user_with_session(tenant_a, "ben")
    await rest_a.call("POST", "/roles", {"name": "staff", "ACL": {"*": {"read": True}}, "users": {
        "__op": "AddRelation", "objects": [pointer("_User", ben)]}})  # fmt: skip
    await rest_a.call("POST", "/classes/Memo", {"seed": True})
    async with live_client() as client:
        await client.connect(tenant_a)  # anonymous connection, sessions per subscription
        assert (await client.subscribe(1, "Memo", sessionToken=ada_token))["op"] == "subscribed"
        assert (await client.subscribe(2, "Memo", sessionToken=ben_token))["op"] == "subscribed"
        await rest_a.call("POST", "/classes/Memo", {"to": "staff", "ACL": {"role:staff": {"read": True}}})
        frame = await client.expect("create")
        assert frame["requestId"] == 2
        await client.quiet()
        bad = await client.subscribe(3, "Memo", sessionToken="r:not-a-session")
        assert (bad["op"], bad["code"], bad["requestId"]) == ("error", 209, 3)
    assert ada  # used in the ACL tests above


async def test_role_granted_later_takes_effect(live_client, tenant_a: Tenant, rest_a: Rest):
    ada, ada_token = await user_with_session(tenant_a, "ada")
    role = await rest_a.call("POST", "/roles", {"name": "late", "ACL": {"*": {"read": True}}})
    await rest_a.call("POST", "/classes/Memo", {"seed": True})
    async with live_client() as client:
        await client.connect(tenant_a, session=ada_token)
        await client.subscribe(1, "Memo")
        await rest_a.call("POST", "/classes/Memo", {"ACL": {"role:late": {"read": True}}})
        await client.quiet()
        await rest_a.call("PUT", f"/roles/{role['objectId']}", {"users": {
            "__op": "AddRelation", "objects": [pointer("_User", ada)]}})  # fmt: skip
        await client.quiet(0.5)  # the role change travels by pub/sub
        await rest_a.call("POST", "/classes/Memo", {"ACL": {"role:late": {"read": True}}})
        await client.expect("create")


async def test_logout_stops_delivery_at_once(live_client, tenant_a: Tenant, rest_a: Rest):
    ada, ada_token = await user_with_session(tenant_a, "ada")
    await rest_a.call("POST", "/classes/Diary", {"seed": True})
    async with live_client() as client, live_client() as by_subscription:
        await client.connect(tenant_a, session=ada_token)
        await client.subscribe(1, "Diary")
        await by_subscription.connect(tenant_a)
        await by_subscription.subscribe(4, "Diary", sessionToken=ada_token)
        await rest_a.call("POST", "/classes/Diary", {"ACL": {ada: {"read": True}}})
        await client.expect("create")
        await by_subscription.expect("create")
        await rest_a.call("POST", "/logout", {}, master=False, session=ada_token)
        for listener, request_id in ((client, 1), (by_subscription, 4)):
            revoked = await listener.expect("error")
            assert (revoked["code"], revoked["requestId"]) == (209, request_id)
        await rest_a.call("POST", "/classes/Diary", {"ACL": {ada: {"read": True}}, "text": "after logout"})
        await client.quiet()
        await by_subscription.quiet()
        again = await client.subscribe(2, "Diary")  # the connection's session is gone too
        assert (again["op"], again["code"]) == ("error", 209)


async def test_clp_find_is_checked_at_subscribe(live_client, tenant_a: Tenant, rest_a: Rest):
    await rest_a.call("POST", "/schemas/Vault", {"className": "Vault", "classLevelPermissions": {
        "find": {}, "get": {}, "count": {}, "create": {}, "update": {}, "delete": {}, "addField": {}}})  # fmt: skip
    async with live_client() as client, live_client() as master:
        await client.connect(tenant_a)
        refused = await client.subscribe(1, "Vault")
        assert (refused["op"], refused["code"]) == ("error", 119)
        await master.connect(tenant_a, key="master")
        assert (await master.subscribe(1, "Vault"))["op"] == "subscribed"
        await rest_a.call("POST", "/classes/Vault", {"gold": 1})
        assert (await master.expect("create"))["object"]["gold"] == 1


async def test_protected_and_hidden_fields(live_client, tenant_a: Tenant, rest_a: Rest):
    """_User email (protected by default) and authData (owner-only) never reach others; no where may use them."""
    async with live_client() as client, live_client() as master:
        await master.connect(tenant_a, key="master")
        assert (await master.subscribe(1, "_User"))["op"] == "subscribed"
        await client.connect(tenant_a)
        for where, code in (
            ({"email": "x@example.com"}, 119), ({"authData.anonymous.id": {"$exists": True}}, 119),
            ({"_hashed_password": "x"}, 105),
        ):  # fmt: skip
            refused = await client.subscribe(9, "_User", where)
            assert (refused["op"], refused["code"]) == ("error", code), refused
        assert (await client.subscribe(1, "_User", keys=["username", "password", "authData", "email"]))[
            "op"
        ] == "subscribed"
        assert (await client.subscribe(2, "_User"))["op"] == "subscribed"
        # Public-read (new users are private to themselves otherwise), with an email and authData.
        await rest_a.call("POST", "/users", {
            "username": "eve", "password": "pw-long-enough-1", "email": "e@x.io", "ACL": {"*": {"read": True}},
            "authData": {"anonymous": {"id": "0b5e7c5a-6e8e-4a55-9a38-6e1c3c7f1a11"}},
        })  # fmt: skip
        for _ in range(2):
            user = (await client.expect("create"))["object"]
            assert user["username"] == "eve"
            assert not {"password", "authData", "email", "sessionToken"} & set(user)
            assert not any(name.startswith("_") for name in user)
        seen_by_master = (await master.expect("create"))["object"]
        assert (seen_by_master["email"], list(seen_by_master["authData"])) == ("e@x.io", ["anonymous"])
        assert not {"password", "sessionToken"} & set(seen_by_master)


async def test_system_classes_refuse_anonymous_listeners(live_client, tenant_a: Tenant, rest_a: Rest):
    ada, ada_token = await user_with_session(tenant_a, "ada")
    _ben, ben_token = await user_with_session(tenant_a, "ben")
    async with live_client() as client, live_client() as master:
        await client.connect(tenant_a)
        session = await client.subscribe(1, "_Session")
        assert (session["op"], session["code"], session["requestId"]) == ("error", 209, 1)
        installation = await client.subscribe(2, "_Installation")
        assert (installation["op"], installation["code"]) == ("error", 119)
        # A user hears only its own sessions: ben's logout is not ada's business; the master key hears it.
        assert (await client.subscribe(3, "_Session", sessionToken=ada_token))["op"] == "subscribed"
        await master.connect(tenant_a, key="master")
        assert (await master.subscribe(1, "_Session"))["op"] == "subscribed"
        await rest_a.call("POST", "/logout", {}, master=False, session=ben_token)
        gone = (await master.expect("delete"))["object"]
        assert gone["user"]["objectId"] != ada
        assert not any(name.startswith("_") for name in gone)  # never the token digest
        await client.quiet()


async def test_app_b_never_hears_app_a(live_client, tenant_a: Tenant, tenant_b: Tenant, rest_a: Rest, rest_b: Rest):
    _bea, bea_token = await user_with_session(tenant_b, "bea")
    await rest_a.call("POST", "/classes/Shared", {"seed": "a"})
    await rest_b.call("POST", "/classes/Shared", {"seed": "b"})
    async with live_client() as b_master, live_client() as b_user, live_client() as wrong:
        await b_master.connect(tenant_b, key="master")
        await b_master.subscribe(1, "Shared")
        await b_user.connect(tenant_b, session=bea_token)
        await b_user.subscribe(1, "Shared")
        # B's session presented to A (with A's key) is not a session of A.
        refused = await wrong.connect(tenant_a, session=bea_token)
        assert (refused["op"], refused["code"]) == ("error", 209)
        await rest_a.call("POST", "/classes/Shared", {"secret": "of A"})
        await b_master.quiet()
        await b_user.quiet()
        await rest_b.call("POST", "/classes/Shared", {"own": "of B"})
        assert (await b_master.expect("create"))["object"]["own"] == "of B"
        assert (await b_user.expect("create"))["object"]["own"] == "of B"


async def test_include_is_filtered_like_a_query(live_client, tenant_a: Tenant, rest_a: Rest):
    ada, ada_token = await user_with_session(tenant_a, "ada")
    _ben, ben_token = await user_with_session(tenant_a, "ben")
    owner = await rest_a.call("POST", "/classes/Owner", {"name": "ada's", "ACL": {ada: {"read": True}}})
    async with live_client() as ada_client, live_client() as ben_client:
        await ada_client.connect(tenant_a, session=ada_token)
        await ben_client.connect(tenant_a, session=ben_token)
        await rest_a.call("POST", "/classes/Pet", {"seed": True})
        for client in (ada_client, ben_client):
            assert (await client.subscribe(1, "Pet", include=["owner"]))["op"] == "subscribed"
        await rest_a.call("POST", "/classes/Pet", {"owner": pointer("Owner", owner["objectId"])})
        seen_by_ada = (await ada_client.expect("create"))["object"]["owner"]
        assert (seen_by_ada["__type"], seen_by_ada["name"]) == ("Object", "ada's")
        assert "owner" not in (await ben_client.expect("create"))["object"]  # unreadable: removed, as by a query


async def test_subscriptions_per_connection_are_capped(live_client, tenant_a: Tenant, rest_a: Rest, settings):
    await rest_a.call("POST", "/classes/Flood", {"seed": True})
    async with live_client() as client:
        await client.connect(tenant_a)
        for request_id in range(1, 101):
            await client.send({"op": "subscribe", "requestId": request_id, "query": {"className": "Flood", "where": {
                "n": request_id}}})  # fmt: skip
        for _ in range(100):
            assert (await client.receive())["op"] == "subscribed"
        over = await client.subscribe(101, "Flood")
        assert (over["op"], over["code"], over["requestId"]) == ("error", 155, 101)


async def test_a_tightened_clp_ends_subscriptions_at_once(live_client, tenant_a: Tenant, rest_a: Rest):
    await rest_a.call("POST", "/classes/Ledger", {"seed": True})
    async with live_client() as client:
        await client.connect(tenant_a)
        assert (await client.subscribe(1, "Ledger"))["op"] == "subscribed"
        closed = {"find": {}, "get": {}, "count": {}, "create": {"*": True}, "update": {}, "delete": {}, "addField": {}}
        await rest_a.call("PUT", "/schemas/Ledger", {"classLevelPermissions": closed})
        dropped = await client.expect("error")
        assert (dropped["code"], dropped["requestId"]) == (119, 1)
        await rest_a.call("POST", "/classes/Ledger", {"amount": 1})
        await client.quiet()


async def test_a_rotated_key_or_a_deleted_app_closes_its_connections(live_client, tenant_a: Tenant, rest_a: Rest):
    await rest_a.call("POST", "/classes/Thing", {"seed": True})
    async with live_client() as client, live_client() as with_master:
        await client.connect(tenant_a)
        await client.subscribe(1, "Thing")
        await with_master.connect(tenant_a, key="master")
        await with_master.subscribe(1, "Thing")
        await sync_to_async(services.app_key_rotate)(
            actor=tenant_a.developer, organization=tenant_a.organization, app_pk=tenant_a.app.pk, kind="javascript"
        )
        refused = await client.expect("error")
        assert (refused["code"], refused["error"]) == (4, "Key in request is not valid")
        await client.socket.wait_closed()
        await with_master.quiet()  # the master key was not rotated
        await sync_to_async(services.app_delete)(
            actor=tenant_a.developer, organization=tenant_a.organization, app_pk=tenant_a.app.pk,
            confirm_name=tenant_a.app.name,
        )  # fmt: skip
        assert (await with_master.expect("error"))["code"] == 4
        await with_master.socket.wait_closed()
