"""``/config``: parameters any key can read, master-only parameters, merges and deletions."""

from __future__ import annotations

import pytest

from tests.datastore.conftest import ParseApp

pytestmark = pytest.mark.django_db(transaction=True)


async def _put(app: ParseApp, body: dict) -> None:
    response = await app.request("PUT", "/config", body, master=True)
    assert (response.status_code, response.json()) == (200, {"result": True}), response.text


async def _get(app: ParseApp, *, master: bool = False) -> dict:
    response = await app.request("GET", "/config", master=master)
    assert response.status_code == 200, response.text
    return response.json()


async def test_no_config_yet(app_a: ParseApp):
    assert await _get(app_a) == {"params": {}}
    assert await _get(app_a, master=True) == {"params": {}}


async def test_changing_the_config_needs_the_master_key(app_a: ParseApp):
    refused = await app_a.request("PUT", "/config", {"params": {"welcome": "hi"}})
    assert (refused.status_code, refused.json()) == (403, {"error": "unauthorized: master key is required"})
    assert await _get(app_a) == {"params": {}}


async def test_master_only_parameters_are_hidden_from_clients(app_a: ParseApp):
    await _put(app_a, {"params": {"welcome": "hi", "secret": "s3"}, "masterKeyOnly": {"secret": True}})
    assert await _get(app_a) == {"params": {"welcome": "hi"}, "masterKeyOnly": {"welcome": False}}
    assert await _get(app_a, master=True) == {
        "params": {"welcome": "hi", "secret": "s3"},
        "masterKeyOnly": {"welcome": False, "secret": True},
    }


async def test_updates_merge_and_delete_parameters(app_a: ParseApp):
    await _put(app_a, {"params": {"a": 1, "b": [1, 2], "c": {"nested": True}}})
    await _put(
        app_a,
        {"params": {"b": {"__op": "Delete"}, "d": {"__type": "Date", "iso": "2024-05-01T10:00:00+02:00"}, "a": 2}},
    )
    config = await _get(app_a, master=True)
    assert config["params"] == {
        "a": 2,
        "c": {"nested": True},
        "d": {"__type": "Date", "iso": "2024-05-01T08:00:00.000Z"},
    }
    assert set(config["masterKeyOnly"]) == {"a", "c", "d"}


async def test_files_in_the_config_get_their_url(app_a: ParseApp):
    await _put(app_a, {"params": {"logo": {"__type": "File", "name": "abc_logo.png", "url": "http://ignored"}}})
    logo = (await _get(app_a))["params"]["logo"]
    assert logo["name"] == "abc_logo.png"
    assert logo["url"].endswith(f"/parse/files/{app_a.tenant.application_id}/abc_logo.png")


async def test_invalid_bodies(app_a: ParseApp):
    response = await app_a.request("PUT", "/config", {"params": ["x"]}, master=True)
    assert response.json() == {"code": 107, "error": "params must be an object."}
    response = await app_a.request(
        "PUT", "/config", {"params": {"when": {"__type": "Date", "iso": "soon"}}}, master=True
    )
    assert response.status_code == 400
    assert response.json()["code"] == 111


async def test_each_app_has_its_own_config(app_a: ParseApp, app_b: ParseApp):
    await _put(app_a, {"params": {"welcome": "A", "key": "a-secret"}, "masterKeyOnly": {"key": True}})
    assert await _get(app_b, master=True) == {"params": {}}
    await _put(app_b, {"params": {"welcome": {"__op": "Delete"}, "other": "B"}})
    assert (await _get(app_a, master=True))["params"] == {"welcome": "A", "key": "a-secret"}
    assert (await _get(app_b, master=True))["params"] == {"other": "B"}
    # B's master key with A's application id is refused.
    crossed = await app_b.client.put(
        "/parse/config",
        content=b'{"params": {"welcome": "hacked"}}',
        headers={
            "X-Parse-Application-Id": app_a.tenant.application_id,
            "X-Parse-Master-Key": app_b.tenant.keys["master"],
        },
    )
    assert crossed.status_code == 403
    assert (await _get(app_a))["params"] == {"welcome": "A"}
