"""``/installations`` as Parse Server: upsert by installationId or deviceToken, 132/135/136, clients only their own."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from tests.messaging.conftest import ParseApp

pytestmark = pytest.mark.django_db(transaction=True)

APNS_TOKEN = "AB" * 32  # 64 hex characters: Parse lower-cases it


async def _device(
    app: ParseApp, method: str, path: str, body: Any = None, *, installation: str | None = None
) -> httpx.Response:
    """A client request (REST key) from a device that sends ``X-Parse-Installation-Id``."""
    headers = app.headers()
    if installation:
        headers["X-Parse-Installation-Id"] = installation
    content = orjson.dumps(body) if body is not None else None
    return await app.client.request(method, f"/parse{path}", content=content, headers=headers)


async def _all(app: ParseApp) -> list[dict[str, Any]]:
    response = await app.request("GET", "/installations", master=True, params={"order": "createdAt"})
    assert response.status_code == 200, response.text
    return list(response.json()["results"])


async def test_the_installations_route_creates_reads_updates_and_deletes_with_parse_fields(app_a: ParseApp) -> None:
    body = {
        "installationId": "Device-ONE", "deviceType": "ios", "deviceToken": APNS_TOKEN, "channels": ["news", ""],
        "timeZone": "Europe/Paris", "pushType": "apn", "badge": 2, "appIdentifier": "com.example.app",
        "localeIdentifier": "fr-FR", "appVersion": "1.0", "appName": "Example", "parseVersion": "5.1.0",
    }  # fmt: skip
    created = await app_a.request("POST", "/installations", body, master=True)
    assert created.status_code == 201, created.text
    object_id = created.json()["objectId"]
    got = (await app_a.request("GET", f"/installations/{object_id}", master=True)).json()
    assert got["installationId"] == "device-one"  # lower-cased, as Parse Server
    assert got["deviceToken"] == APNS_TOKEN.lower()
    for name in ("channels", "timeZone", "pushType", "badge", "appIdentifier", "localeIdentifier", "deviceType"):
        assert got[name] == body[name]
    updated = await app_a.request("PUT", f"/installations/{object_id}", {"badge": {"__op": "Increment"}}, master=True)
    assert updated.json()["badge"] == 3
    same = (await app_a.request("GET", f"/classes/_Installation/{object_id}", master=True)).json()
    assert same["badge"] == 3
    assert (await app_a.request("DELETE", f"/installations/{object_id}", master=True)).json() == {}
    assert await _all(app_a) == []


async def test_a_post_with_a_known_installation_id_or_token_updates_instead_of_duplicating(app_a: ParseApp) -> None:
    first = await app_a.request(
        "POST", "/installations", {"installationId": "abc", "deviceType": "android"}, master=True
    )
    again = await app_a.request("POST", "/installations", {"installationId": "ABC", "badge": 4}, master=True)
    assert again.json()["objectId"] == first.json()["objectId"]
    assert again.status_code == 200  # an update, as Parse Server answers it (with the objectId the SDKs need)
    assert "updatedAt" in again.json()
    assert "createdAt" not in again.json()
    token_only = await app_a.request(
        "POST", "/installations", {"deviceToken": "t-1", "deviceType": "android"}, master=True
    )
    by_token = await app_a.request(
        "POST", "/installations", {"deviceToken": "t-1", "deviceType": "android", "channels": ["x"]}, master=True
    )
    assert by_token.json()["objectId"] == token_only.json()["objectId"]
    rows = await _all(app_a)
    summary = [(r.get("installationId"), r.get("badge"), r.get("channels")) for r in rows]
    assert summary == [("abc", 4, None), (None, None, ["x"])]


async def test_a_device_token_belongs_to_one_installation(app_a: ParseApp) -> None:
    old = await app_a.request(
        "POST", "/installations", {"installationId": "old-install", "deviceType": "ios", "deviceToken": APNS_TOKEN},
        master=True,
    )  # fmt: skip
    assert old.status_code == 201
    # The app was reinstalled: a new installationId presents the same token; the stale row goes.
    new = await _device(
        app_a, "POST", "/installations", {"deviceType": "ios", "deviceToken": APNS_TOKEN}, installation="new-install"
    )
    assert new.status_code == 201, new.text
    assert [(r["installationId"], r["deviceToken"]) for r in await _all(app_a)] == [("new-install", APNS_TOKEN.lower())]
    # A refused write (a badge that is not a number) costs the token's holder nothing.
    refused = await _device(
        app_a, "POST", "/installations", {"deviceType": "ios", "deviceToken": APNS_TOKEN, "badge": "x"},
        installation="third-install",
    )  # fmt: skip
    assert refused.json()["code"] == 111
    assert [r["installationId"] for r in await _all(app_a)] == ["new-install"]
    # An installation known by its token alone learns its installationId (Parse's merge), master only.
    bare = await app_a.request("POST", "/installations", {"deviceType": "android", "deviceToken": "fcm-1"}, master=True)
    merged = await app_a.request(
        "POST",
        "/installations",
        {"installationId": "i-2", "deviceType": "android", "deviceToken": "fcm-1"},
        master=True,
    )
    assert merged.json()["objectId"] == bare.json()["objectId"]
    assert len(await _all(app_a)) == 2


async def test_a_token_held_by_several_installations_needs_an_installation_id(app_a: ParseApp) -> None:
    for installation in ("one", "two"):
        await app_a.request(
            "POST", "/classes/_Installation", {"installationId": installation, "deviceType": "web"}, master=True
        )
    # Give both the same token through updates by objectId (master may).
    rows = await _all(app_a)
    from hangar.datastore.connection import app_statement
    from hangar.datastore.partitions import object_partition

    async with app_statement(app_a.tenant.app.pk) as conn:
        await conn.run(
            f'UPDATE {object_partition(app_a.tenant.app.pk)} SET data = data || \'{{"deviceToken": "shared"}}\' '
            "WHERE app_id = %s AND class_name = '_Installation'",
            [app_a.tenant.app.pk],
        )
    ambiguous = await app_a.request(
        "POST", "/installations", {"deviceToken": "shared", "deviceType": "web"}, master=True
    )
    assert ambiguous.json() == {
        "code": 132, "error": "Must specify installationId when deviceToken matches multiple Installation objects",
    }  # fmt: skip
    assert len(rows) == 2
    assert len(await _all(app_a)) == 2


async def test_missing_ids_and_device_type_are_135(app_a: ParseApp) -> None:
    none = await app_a.request("POST", "/installations", {"deviceType": "ios"}, master=True)
    assert none.json() == {
        "code": 135, "error": "at least one ID field (deviceToken, installationId) must be specified in this operation",
    }  # fmt: skip
    no_type = await app_a.request("POST", "/installations", {"installationId": "x1"}, master=True)
    assert no_type.json() == {"code": 135, "error": "deviceType must be specified in this operation"}
    client_no_type = await _device(app_a, "POST", "/installations", {"channels": []}, installation="x2")
    assert client_no_type.json()["code"] == 135
    client_no_id = await _device(app_a, "POST", "/installations", {"deviceType": "ios", "deviceToken": "t"})
    assert client_no_id.json() == {"code": 135, "error": "installationId must be specified in this operation"}
    assert await _all(app_a) == []


async def test_installation_id_device_type_and_a_bare_token_are_immutable(app_a: ParseApp) -> None:
    mine = (
        await app_a.request("POST", "/installations", {"installationId": "i-1", "deviceType": "ios"}, master=True)
    ).json()
    path = f"/installations/{mine['objectId']}"
    for body, field in [({"installationId": "i-9"}, "installationId"), ({"deviceType": "android"}, "deviceType")]:
        refused = await app_a.request("PUT", path, body, master=True)
        assert refused.json() == {"code": 136, "error": f"{field} may not be changed in this operation"}
    upsert = await app_a.request("POST", "/installations", {"installationId": "i-1", "deviceType": "web"}, master=True)
    assert upsert.json()["code"] == 136
    ok = await app_a.request("PUT", path, {"installationId": "I-1", "deviceType": "ios", "badge": 1}, master=True)
    assert ok.status_code == 200, ok.text
    bare = (
        await app_a.request("POST", "/installations", {"deviceToken": "tok-a", "deviceType": "android"}, master=True)
    ).json()
    moved = await app_a.request("PUT", f"/installations/{bare['objectId']}", {"deviceToken": "tok-b"}, master=True)
    assert moved.json() == {"code": 136, "error": "deviceToken may not be changed in this operation"}
    [first, second] = await _all(app_a)
    assert (first["installationId"], first["deviceType"], second["deviceToken"]) == ("i-1", "ios", "tok-a")


async def test_a_client_creates_and_updates_its_own_installation_only(app_a: ParseApp) -> None:
    mine = await _device(
        app_a, "POST", "/installations", {"deviceType": "android", "channels": ["a"]}, installation="Me"
    )
    assert mine.status_code == 201, mine.text
    mine_id = mine.json()["objectId"]
    victim = await app_a.request(
        "POST", "/installations", {"installationId": "victim", "deviceType": "ios", "deviceToken": "victim-token"},
        master=True,
    )  # fmt: skip
    victim_id = victim.json()["objectId"]
    ok = await _device(app_a, "PUT", f"/installations/{mine_id}", {"channels": ["a", "b"]}, installation="me")
    assert ok.status_code == 200, ok.text
    # Someone else's installation: by objectId, by claiming its installationId in the body, or through /batch.
    for path, body, installation in [
        (f"/installations/{victim_id}", {"badge": 9}, "me"),
        (f"/installations/{victim_id}", {"badge": 9, "installationId": "victim"}, "me"),
        (f"/installations/{victim_id}", {"deviceType": "android"}, "me"),
        (f"/installations/{mine_id}", {"installationId": "victim"}, "me"),
        (f"/installations/{mine_id}", {"deviceType": "ios"}, None),
    ]:
        denied = await _device(app_a, "PUT", path, body, installation=installation)
        assert denied.json() == {"code": 101, "error": "Object not found."}, (path, body)
    batch = await _device(
        app_a, "POST", "/batch",
        {"requests": [{"method": "PUT", "path": f"/parse/installations/{victim_id}", "body": {"badge": 9}}]},
        installation="me",
    )  # fmt: skip
    assert batch.json()[0]["error"]["code"] == 101
    # Changing its own deviceType is refused as for the master key.
    retyped = await _device(app_a, "PUT", f"/installations/{mine_id}", {"deviceType": "ios"}, installation="me")
    assert retyped.json()["code"] == 136
    # A guessed token is not a key to another installation: it creates the caller's own.
    guessed = await _device(
        app_a, "POST", "/installations", {"deviceType": "android", "deviceToken": "not-the-victims"}, installation="me"
    )
    assert guessed.json()["objectId"] == mine_id
    # A body naming another installation than the device's header is refused, not an upsert of the victim.
    borrowed = await _device(
        app_a,
        "POST",
        "/installations",
        {"installationId": "victim", "deviceType": "ios", "badge": 9},
        installation="me",
    )
    assert borrowed.json() == {"code": 136, "error": "installationId may not be changed in this operation"}
    listed = await _device(app_a, "GET", "/installations", installation="me")
    assert listed.json() == {
        "code": 119, "error": "Clients aren't allowed to perform the find operation on the installation collection.",
    }  # fmt: skip
    deleted = await _device(app_a, "DELETE", f"/installations/{mine_id}", installation="me")
    assert deleted.json()["code"] == 119
    rows = {r["objectId"]: r for r in await _all(app_a)}
    assert rows[victim_id].get("badge") is None
    assert rows[victim_id]["deviceType"] == "ios"
    assert rows[mine_id]["channels"] == ["a", "b"]
    assert rows[mine_id]["deviceType"] == "android"


async def test_another_apps_keys_never_reach_an_installation(app_a: ParseApp, app_b: ParseApp) -> None:
    created = await app_a.request("POST", "/installations", {"installationId": "a-1", "deviceType": "ios"}, master=True)
    object_id = created.json()["objectId"]
    assert (await app_b.request("GET", f"/installations/{object_id}", master=True)).json()["code"] == 101
    assert (await app_b.request("PUT", f"/installations/{object_id}", {"badge": 1}, master=True)).json()["code"] == 101
    assert (await app_b.request("DELETE", f"/installations/{object_id}", master=True)).json()["code"] == 101
    assert (await app_b.request("GET", "/installations", master=True)).json() == {"results": []}
    # The same installationId in app B is another installation.
    other = await app_b.request("POST", "/installations", {"installationId": "a-1", "deviceType": "ios"}, master=True)
    assert other.status_code == 201
    assert other.json()["objectId"] != object_id
    assert [r["objectId"] for r in await _all(app_a)] == [object_id]
