"""Triggers on the data path through the Parse REST API: beforeSave on create and update, rejects,
modifications checked like client values, timeouts, beforeDelete/afterSave/afterDelete, and isolation."""

from __future__ import annotations

import asyncio

import pytest
from django.test import override_settings

from hangar.cloudcode.logs import log_flush, log_records
from tests.cloudcode.conftest import deploy_async
from tests.datastore.conftest import ParseApp

pytestmark = pytest.mark.django_db(transaction=True)

TRIGGERS = {
    "main.py": """
    import time
    from hangar_cloud import before_save, after_save, before_delete, after_delete, ParseError, ValidationError

    @before_save("Post")
    def post_before_save(request):
        post = request.object
        title = post.get("title", "")
        if title == "reject":
            raise ValidationError("no rejects")
        if title == "coded":
            raise ParseError(137, "duplicate title")
        if title == "crash":
            raise RuntimeError("it broke")
        if title == "slow":
            time.sleep(5)
        if title == "sneaky":
            post["sneakyField"] = 1  # a new field: CLP addField decides, as for the client
        if title == "wrongtype":
            post["score"] = "not a number"
        post["title"] = title.strip().upper()
        if request.original:
            post["seenOriginal"] = request.original.get("title")
        post["total"] = post.get("score", 0) * 10
        post.pop("scratch", None)

    @after_save("Post")
    def post_after_save(request):
        request.data.as_master().save(
            "Audit", {"postId": request.object.id, "title": request.object.get("title"),
                      "had": request.original.get("title") if request.original else None}
        )

    @after_save("Crash")
    def crash_after_save(request):
        raise RuntimeError("audit store down")

    @before_delete("Post")
    def post_before_delete(request):
        if request.object.get("locked"):
            raise ParseError(119, "locked post " + request.object.get("title", ""))

    @after_delete("Post")
    def post_after_delete(request):
        request.data.as_master().save("Audit", {"deleted": request.object.id, "title": request.object.get("title")})
    """
}


POST_FIELDS = {
    "title": {"type": "String"}, "score": {"type": "Number"}, "total": {"type": "Number"},
    "seenOriginal": {"type": "String"}, "locked": {"type": "Boolean"}, "scratch": {"type": "Number"},
}  # fmt: skip


async def _ready(app: ParseApp) -> None:
    """Deploy the triggers and make the Post class (clients may not create classes)."""
    await deploy_async(app.tenant, TRIGGERS)
    clp = {perm: {"*": True} for perm in ("find", "count", "get", "create", "update", "delete")}
    schema = {"className": "Post", "fields": POST_FIELDS, "classLevelPermissions": {**clp, "addField": {}}}
    made = await app.request("POST", "/schemas/Post", schema, master=True)
    assert made.status_code == 200, made.text


async def _audit(app: ParseApp, where: dict[str, object]) -> list[dict[str, object]]:
    for _ in range(60):
        found = await app.request("GET", "/classes/Audit", params={"where": where}, master=True)
        results = found.json().get("results", [])
        if results:
            return results
        await asyncio.sleep(0.1)
    return []


async def test_before_save_changes_create_and_update_and_echoes_them(app_a: ParseApp):
    await _ready(app_a)
    created = await app_a.request("POST", "/classes/Post", {"title": " hello ", "score": 2, "scratch": 1})
    assert created.status_code == 201, created.text
    assert created.json()["title"] == "HELLO"
    assert created.json()["total"] == 20
    post_id = created.json()["objectId"]
    stored = (await app_a.request("GET", f"/classes/Post/{post_id}")).json()
    assert (stored["title"], stored["total"], stored.get("seenOriginal")) == ("HELLO", 20, None)
    assert "scratch" not in stored

    # An update: the trigger sees the merged object (score stays 2 + 3) and the stored row.
    updated = await app_a.request(
        "PUT", f"/classes/Post/{post_id}", {"title": "again", "score": {"__op": "Increment", "amount": 3}}
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["title"] == "AGAIN"
    assert updated.json()["total"] == 50
    stored = (await app_a.request("GET", f"/classes/Post/{post_id}")).json()
    assert (stored["title"], stored["score"], stored["total"], stored["seenOriginal"]) == ("AGAIN", 5, 50, "HELLO")


async def test_before_save_rejects_with_its_code_and_writes_nothing(app_a: ParseApp):
    await _ready(app_a)
    for title, code, message in [
        ("reject", 142, "no rejects"),
        ("coded", 137, "duplicate title"),
        ("crash", 141, "it broke"),
    ]:
        response = await app_a.request("POST", "/classes/Post", {"title": title})
        assert response.json() == {"code": code, "error": message}
    created = await app_a.request("POST", "/classes/Post", {"title": "kept"})
    post_id = created.json()["objectId"]
    # PUT is guarded like POST, and __op syntax cannot route around the trigger.
    rejected = await app_a.request("PUT", f"/classes/Post/{post_id}", {"title": {"__op": "Delete"}, "score": 1})
    assert rejected.status_code == 200, (
        rejected.text
    )  # a deleted title is "" for the trigger: saved as "", not a bypass
    rejected = await app_a.request("PUT", f"/classes/Post/{post_id}", {"title": "reject"})
    assert rejected.json() == {"code": 142, "error": "no rejects"}
    found = await app_a.request("GET", "/classes/Post", master=True)
    assert [row.get("title") for row in found.json()["results"]] == [""]


async def test_trigger_values_are_checked_like_client_values(app_a: ParseApp):
    await _ready(app_a)
    first = await app_a.request("POST", "/classes/Post", {"title": "a", "score": 1})
    assert first.status_code == 201
    wrong = await app_a.request("POST", "/classes/Post", {"title": "wrongtype"})
    assert wrong.json()["code"] == 111, wrong.text
    # The client may not add fields (CLP addField): neither may its trigger, by POST, PUT or /batch.
    sneaky = await app_a.request("POST", "/classes/Post", {"title": "sneaky"})
    assert sneaky.json()["code"] == 119, sneaky.text
    post_id = first.json()["objectId"]
    sneaky = await app_a.request("PUT", f"/classes/Post/{post_id}", {"title": "sneaky"})
    assert sneaky.json()["code"] == 119, sneaky.text
    batch = await app_a.request(
        "POST",
        "/batch",
        {"requests": [{"method": "PUT", "path": f"/parse/classes/Post/{post_id}", "body": {"title": "sneaky"}}]},
    )
    assert batch.json()[0]["error"]["code"] == 119, batch.text
    assert "sneakyField" not in (await app_a.request("GET", f"/classes/Post/{post_id}")).json()
    # With the master key the trigger may, as the client may.
    allowed = await app_a.request("POST", "/classes/Post", {"title": "sneaky", "score": 1}, master=True)
    assert allowed.status_code == 201, allowed.text
    assert allowed.json()["sneakyField"] == 1
    count = await app_a.request("GET", "/classes/Post", params={"count": 1, "limit": 0}, master=True)
    assert count.json()["count"] == 2


@override_settings(HANGAR_CLOUD_TRIGGER_TIMEOUT_SECONDS=1.0)
async def test_slow_before_save_times_out_with_141_and_writes_nothing(app_a: ParseApp):
    await _ready(app_a)
    response = await app_a.request("POST", "/classes/Post", {"title": "slow"})
    assert response.json()["code"] == 141, response.text
    count = await app_a.request("GET", "/classes/Post", params={"count": 1, "limit": 0}, master=True)
    assert count.json()["count"] == 0


async def test_after_save_and_delete_triggers_see_the_objects(app_a: ParseApp):
    await _ready(app_a)
    created = await app_a.request("POST", "/classes/Post", {"title": "one", "locked": True})
    post_id = created.json()["objectId"]
    audits = await _audit(app_a, {"postId": post_id})
    assert audits
    assert audits[0]["title"] == "ONE"
    assert audits[0].get("had") is None
    await app_a.request("PUT", f"/classes/Post/{post_id}", {"title": "two"})
    audits = await _audit(app_a, {"postId": post_id, "had": "ONE"})
    assert audits
    assert audits[0]["title"] == "TWO"

    refused = await app_a.request("DELETE", f"/classes/Post/{post_id}")
    assert refused.json() == {"code": 119, "error": "locked post TWO"}
    assert (await app_a.request("GET", f"/classes/Post/{post_id}")).status_code == 200
    await app_a.request("PUT", f"/classes/Post/{post_id}", {"locked": False})
    deleted = await app_a.request("DELETE", f"/classes/Post/{post_id}")
    assert deleted.status_code == 200, deleted.text
    audits = await _audit(app_a, {"deleted": post_id})
    assert audits
    assert audits[0]["title"] == "TWO"


async def test_batch_cannot_bypass_before_save(app_a: ParseApp):
    await _ready(app_a)
    batch = await app_a.request(
        "POST", "/batch",
        {"requests": [
            {"method": "POST", "path": "/parse/classes/Post", "body": {"title": "x"}},
            {"method": "POST", "path": "/parse/classes/Post", "body": {"title": "reject"}},
        ]},
    )  # fmt: skip
    answers = batch.json()
    assert answers[0]["success"]["title"] == "X", answers
    assert answers[1] == {"error": {"code": 142, "error": "no rejects"}}
    found = await app_a.request("GET", "/classes/Post", master=True)
    assert [row["title"] for row in found.json()["results"]] == ["X"]


async def test_another_apps_trigger_never_runs(app_a: ParseApp, app_b: ParseApp):
    await _ready(app_a)
    made = await app_b.request("POST", "/schemas/Post", {"className": "Post", "fields": POST_FIELDS}, master=True)
    assert made.status_code == 200, made.text
    response = await app_b.request("POST", "/classes/Post", {"title": "reject"})
    assert response.status_code == 201, response.text
    assert "total" not in response.json()
    stored = (await app_b.request("GET", f"/classes/Post/{response.json()['objectId']}")).json()
    assert stored["title"] == "reject"
    assert (await app_a.request("GET", "/classes/Post", master=True)).json()["results"] == []
    assert await _audit(app_b, {}) == []


FINDS = {
    "main.py": """
    from hangar_cloud import before_find, after_find

    @before_find("Note")
    def note_before_find(request):
        query = request.query
        if request.count:
            query.where["counted"] = True
        elif not request.master:
            query.where.pop("owner", None)  # tries to widen: the ACL still applies
            query.where["public"] = True
        if request.is_get:
            query["keys"] = "title,public"

    @after_find("Note")
    def note_after_find(request):
        if request.master:  # the count below runs this trigger too (as in Parse): stop there
            return request.objects
        every = request.data.as_master().find("Note", {})
        kept = [note for note in request.objects if note.get("title") != "hidden"]
        for note in kept:
            note["allNotes"] = len(every)
        return kept
    """
}


async def _notes(app: ParseApp, rows: list[dict[str, object]]) -> list[str]:
    ids = []
    for row in rows:
        made = await app.request("POST", "/classes/Note", row, master=True)
        assert made.status_code == 201, made.text
        ids.append(made.json()["objectId"])
    return ids


async def test_before_and_after_find_shape_find_get_and_count(app_a: ParseApp, app_b: ParseApp):
    await deploy_async(app_a.tenant, FINDS)
    public, private, hidden, secret = await _notes(
        app_a,
        [
            {"title": "public", "public": True, "body": "b"},
            {"title": "private", "public": False},
            {"title": "hidden", "public": True},
            {"title": "secret", "public": True, "ACL": {}},  # nobody but master may read it
        ],
    )
    await _notes(app_b, [{"title": f"b{n}", "public": True} for n in range(5)])

    found = await app_a.request("GET", "/classes/Note", params={"where": {"owner": "x"}})
    assert found.status_code == 200, found.text
    results = found.json()["results"]
    assert [row["title"] for row in results] == ["public"]  # filtered by beforeFind, hidden by afterFind, ACL kept
    assert results[0]["allNotes"] == 4  # app B's five notes are never seen by app A's trigger

    got = await app_a.request("GET", f"/classes/Note/{public}")
    assert got.status_code == 200, got.text
    assert "body" not in got.json()  # the beforeFind's keys applied to a get
    assert got.json()["title"] == "public"
    assert (await app_a.request("GET", f"/classes/Note/{private}")).json()["code"] == 101
    assert (await app_a.request("GET", f"/classes/Note/{hidden}")).json()["code"] == 101
    assert (await app_a.request("GET", f"/classes/Note/{secret}")).json()["code"] == 101

    counted = await app_a.request("GET", "/classes/Note", params={"count": 1, "limit": 0})
    assert counted.json() == {"results": [], "count": 0}  # request.count was set: where counted=True

    # App B's own Note class runs no trigger of app A.
    in_b = await app_b.request("GET", "/classes/Note")
    assert len(in_b.json()["results"]) == 5
    assert all("allNotes" not in row for row in in_b.json()["results"])


async def test_failing_after_save_never_reaches_the_client_and_is_logged(app_a: ParseApp):
    await deploy_async(app_a.tenant, TRIGGERS)
    created = await app_a.request("POST", "/classes/Crash", {"n": 1}, master=True)
    assert created.status_code == 201, created.text
    assert (await app_a.request("GET", f"/classes/Crash/{created.json()['objectId']}")).status_code == 200
    for _ in range(60):
        await log_flush()
        records = await log_records(app_a.tenant.app.pk, level="error")
        if any("gave up after 3 attempts: audit store down" in str(r.get("error")) for r in records):
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError(f"no give-up record in the cloud log: {records}")
    assert sum(r.get("name") == "afterSave.Crash" for r in records) >= 3  # every attempt is logged too


USERS_AND_FILES = {
    "main.py": """
    from hangar_cloud import (
        before_save, after_save, before_save_file, after_save_file, before_delete_file, ParseError, ValidationError,
    )

    @before_save("_User")
    def user_before_save(request):
        user = request.object
        shown = set(user) | set(request.original or {})
        leaked = {"password", "_hashed_password", "sessionToken", "authData"} & shown
        if leaked:
            raise ParseError(141, "saw " + ",".join(sorted(leaked)))
        if user.get("username") == "banned":
            raise ValidationError("username not allowed")
        if user.get("nickname") == "takeover":
            user["password"] = "chosen-by-trigger"
        user["nickname"] = (user.get("nickname") or user.get("username")).title()

    @after_save("_User")
    def user_after_save(request):
        request.data.as_master().save("Audit", {"user": request.object.id, "nick": request.object.get("nickname")})

    @before_save_file()
    def file_before_save(request):
        if request.file["name"].endswith(".exe") or request.file["contentType"] == "application/x-msdownload":
            raise ParseError(130, "no executables")
        request.file["metadata"]["checked"] = "yes"

    @after_save_file()
    def file_after_save(request):
        request.data.as_master().save("Audit", {"file": request.file["name"], "size": request.file["size"]})

    @before_delete_file()
    def file_before_delete(request):
        if "keep" in request.file["name"]:
            raise ParseError(153, "this file stays")
    """
}


async def test_user_triggers_on_sign_up_and_update_never_see_credentials(app_a: ParseApp):
    await deploy_async(app_a.tenant, USERS_AND_FILES)
    fields = {"className": "_User", "fields": {"nickname": {"type": "String"}}}
    assert (await app_a.request("PUT", "/schemas/_User", fields, master=True)).status_code == 200
    signed = await app_a.request("POST", "/users", {"username": "ada", "password": "s3cret!"})
    assert signed.status_code == 201, signed.text
    assert signed.json()["nickname"] == "Ada"
    user_id, token = signed.json()["objectId"], signed.json()["sessionToken"]
    assert (await _audit(app_a, {"user": user_id}))[0]["nick"] == "Ada"

    banned = await app_a.request("POST", "/users", {"username": "banned", "password": "x"})
    assert banned.json() == {"code": 142, "error": "username not allowed"}

    renamed = await app_a.request("PUT", f"/users/{user_id}", {"nickname": "lovelace"}, session=token)
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["nickname"] == "Lovelace"
    # A trigger cannot set a password (it would bypass hashing).
    takeover = await app_a.request("PUT", f"/users/{user_id}", {"nickname": "takeover"}, session=token)
    assert takeover.json()["code"] == 141

    # A password change passes the trigger without showing it the password.
    changed = await app_a.request("PUT", f"/users/{user_id}", {"password": "n3w-pass"}, session=token)
    assert changed.status_code == 200, changed.text
    login = await app_a.request("GET", "/login", params={"username": "ada", "password": "n3w-pass"})
    assert login.status_code == 200, login.text
    assert login.json()["nickname"] == "Lovelace"


async def test_file_triggers_reject_annotate_and_guard_deletes(app_a: ParseApp):
    await deploy_async(app_a.tenant, USERS_AND_FILES)
    headers = {**app_a.headers(master=True), "Content-Type": "text/plain"}
    refused = await app_a.client.post("/parse/files/tool.exe", content=b"MZ", headers=headers)
    assert refused.json() == {"code": 130, "error": "no executables"}
    kept = await app_a.client.post("/parse/files/keep.txt", content=b"hello", headers=headers)
    assert kept.status_code == 201, kept.text
    name = kept.json()["name"]
    audits = await _audit(app_a, {"file": name})
    assert audits
    assert audits[0]["size"] == 5
    guarded = await app_a.client.delete(f"/parse/files/{name}", headers=app_a.headers(master=True))
    assert guarded.json() == {"code": 153, "error": "this file stays"}
    still_there = await app_a.client.get(f"/parse/files/{app_a.tenant.application_id}/{name}")
    assert still_there.status_code == 200
    assert still_there.content == b"hello"


LOGINS = {
    "main.py": """
    from hangar_cloud import before_login, after_login, after_logout, before_save, ParseError

    @before_login()
    def refuse_blocked(request):
        if request.object.get("blocked"):
            raise ParseError(101, "blocked account")
        if "authData" in request.object or "password" in request.object:
            raise ParseError(141, "credentials shown")

    @after_login()
    def audit_login(request):
        request.data.as_master().save("Audit", {"login": request.object.id})

    @after_logout()
    def audit_logout(request):
        request.data.as_master().save("Audit", {"logout": request.object.id})

    @before_save("_Session")
    def never_runs(request):
        raise ParseError(141, "a _Session beforeSave ran")
    """
}


async def test_login_triggers_refuse_audit_and_sessions_take_no_save_trigger(app_a: ParseApp):
    await deploy_async(app_a.tenant, LOGINS)
    fields = {"className": "_User", "fields": {"blocked": {"type": "Boolean"}}}
    assert (await app_a.request("PUT", "/schemas/_User", fields, master=True)).status_code == 200
    signed = await app_a.request("POST", "/users", {"username": "ada", "password": "s3cret!"})
    assert signed.status_code == 201, signed.text  # the session made at sign-up runs no _Session beforeSave
    user_id = signed.json()["objectId"]

    login = await app_a.request("POST", "/login", {"username": "ada", "password": "s3cret!"})
    assert login.status_code == 200, login.text
    assert await _audit(app_a, {"login": user_id})
    out = await app_a.request("POST", "/logout", {}, session=login.json()["sessionToken"])
    assert out.status_code == 200, out.text
    assert await _audit(app_a, {"logout": {"$exists": True}})

    await app_a.request("PUT", f"/users/{user_id}", {"blocked": True}, master=True)
    refused = await app_a.request("POST", "/login", {"username": "ada", "password": "s3cret!"})
    assert refused.json() == {"code": 101, "error": "blocked account"}
    sessions = await app_a.request("GET", "/classes/_Session", params={"where": {"user": {
        "__type": "Pointer", "className": "_User", "objectId": user_id}}}, master=True)  # fmt: skip
    assert len(sessions.json()["results"]) == 1  # only the sign-up's: the refused login opened none
