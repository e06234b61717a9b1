"""Backups through the CLI: a backup restored into a new app compares equal, logins work, files byte-equal."""

from __future__ import annotations

import json
import stat
import tarfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from hangar.backups.models import Backup
from tests.cli.conftest import Cli, member_cli, parse
from tests.conftest import LiveServer, Tenant

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

FILE_BYTES = bytes(range(256)) * 40 + b"the end"
PING = 'from hangar_cloud import define\n\n@define("ping")\ndef ping(request):\n    return "pong"\n'
# Version 1 reads a variable; version 2 (deployed after) is rolled back, so version 1 is the active one backed up.
PING_V1 = PING + '\nimport os\n\n@define("secret")\ndef secret(request):\n    return os.environ.get("API_SECRET")\n'
PING_V2 = 'from hangar_cloud import define\n\n@define("ping")\ndef ping(request):\n    return "pong v2"\n'


def _keys(app: dict[str, Any]) -> dict[str, str]:
    return {**app["keys"], "application_id": app["application_id"]}


def _populate(server: LiveServer, keys: dict[str, str], cli: Cli, tmp_path: Path) -> dict[str, Any]:
    """Users with passwords, a role, objects with ACLs, pointers, a relation, a file, config, an index, code."""
    schema = {"classes": {"Post": {"fields": {"title": {"type": "String"}}, "indexes": {"title_1": {"title": 1}}}}}
    (tmp_path / "s.json").write_text(json.dumps(schema))
    cli.ok("schema", "push", str(tmp_path / "s.json"), "--app", keys["application_id"])
    ada = parse(server, keys, "POST", "/users", json={"username": "ada", "password": "lovelace-1815"}).json()
    bob = parse(server, keys, "POST", "/users", json={"username": "bob", "password": "b0b-secret"}).json()
    session = {"X-Parse-Session-Token": ada["sessionToken"]}
    uploaded = parse(server, keys, "POST", "/files/notes.bin", content=FILE_BYTES, headers=session).json()
    post = parse(server, keys, "POST", "/classes/Post", headers=session, json={
        "title": "hello", "author": {"__type": "Pointer", "className": "_User", "objectId": ada["objectId"]},
        "attachment": {"__type": "File", "name": uploaded["name"]},
        "likes": {"__op": "AddRelation", "objects": [
            {"__type": "Pointer", "className": "_User", "objectId": bob["objectId"]}]},
        "ACL": {ada["objectId"]: {"read": True, "write": True}},
    }).json()  # fmt: skip
    ada_pointer = {"__type": "Pointer", "className": "_User", "objectId": ada["objectId"]}
    parse(server, keys, "POST", "/roles", master=True, json={
        "name": "Editors", "ACL": {"*": {"read": True}}, "users": {"__op": "AddRelation", "objects": [ada_pointer]},
    })  # fmt: skip
    for n in range(30):
        item = parse(server, keys, "POST", "/classes/Item", master=True, json={"n": n, "tags": ["a", str(n)]})
        assert item.status_code == 201, item.text
    parse(server, keys, "PUT", "/config", master=True, json={"params": {"greeting": "hi"}})
    from hangar.cloudcode.services import set_variable
    from tenants.models import App

    set_variable(App.objects.get(application_id=keys["application_id"]), "API_SECRET", "s3cr3t-value", secret=True)
    bundle = tmp_path / "code"
    bundle.mkdir(exist_ok=True)
    for source in (PING_V1, PING_V2):
        (bundle / "main.py").write_text(source)
        cli.ok("functions", "deploy", str(bundle), "--app", keys["application_id"])
    cli.ok("functions", "activate", "1", "--app", keys["application_id"])
    return {"ada": ada, "post": post, "file": uploaded}


def _everything(server: LiveServer, keys: dict[str, str]) -> dict[str, Any]:
    """What a master-key client sees of the app: every object of every class, relations, config, schema."""
    classes = [c["className"] for c in parse(server, keys, "GET", "/schemas", master=True).json()["results"]]
    seen: dict[str, Any] = {"schemas": sorted(classes)}
    for name in classes:
        rows = parse(server, keys, "GET", f"/classes/{name}", master=True, params={"limit": 1000, "order": "objectId"})
        seen[name] = [{k: v for k, v in row.items() if k != "attachment"} for row in rows.json()["results"]]
    seen["config"] = parse(server, keys, "GET", "/config", master=True).json()
    return seen


def test_backup_restored_into_a_new_app_compares_equal(alice_cli: Cli, tenant_a: Tenant, tmp_path: Path):
    server = alice_cli.server
    made = _populate(server, tenant_a.keys, alice_cli, tmp_path)
    archive = tmp_path / "backup.tar"
    backup = alice_cli.ok("backup", "create", "--app", tenant_a.application_id, "-o", str(archive), "--json").json()
    assert backup["status"] == "done"
    assert backup["counts"]["files"] == 1
    assert backup["counts"]["relations"] == 2  # likes + the role's users
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    with tarfile.open(archive) as tar:
        assert {"manifest.json", "state.json", "objects.copy.gz", "files/0", "cloud/1.zip", "cloud/2.zip"} <= set(
            tar.getnames()
        )
    assert b"s3cr3t-value" not in archive.read_bytes()  # the variable is in it, sealed (docs/cli.md)
    assert backup["counts"]["cloud_variables"] == 1

    restored = alice_cli.ok("backup", "restore", backup["id"], "--new-app", "copy", "--json").json()
    assert restored["id"].startswith("rs_")
    assert (restored["status"], restored["skipped_variables"]) == ("done", [])
    copy_keys = _keys(restored["app"])
    assert copy_keys["application_id"] != tenant_a.application_id
    before, after = _everything(server, tenant_a.keys), _everything(server, copy_keys)
    assert before.pop("_Session")  # sessions are left out unless asked for
    assert after.pop("_Session") == []
    assert after == before

    # Relations, pointers and the file, read as a client of the copy.
    post_id = made["post"]["objectId"]
    login = parse(server, copy_keys, "GET", "/login", params={"username": "ada", "password": "lovelace-1815"})
    assert login.status_code == 200, login.text
    session = {"X-Parse-Session-Token": login.json()["sessionToken"]}
    post = parse(server, copy_keys, "GET", f"/classes/Post/{post_id}", headers=session).json()
    assert post["author"]["objectId"] == made["ada"]["objectId"]
    assert httpx.get(post["attachment"]["url"], timeout=30).content == FILE_BYTES
    likes = parse(
        server,
        copy_keys,
        "GET",
        "/users",
        master=True,
        params={
            "where": json.dumps(
                {
                    "$relatedTo": {
                        "object": {"__type": "Pointer", "className": "Post", "objectId": post_id},
                        "key": "likes",
                    }
                }
            )
        },
    )
    assert [u["username"] for u in likes.json()["results"]] == ["bob"]
    # The ACL came along: bob cannot read Ada's post; a wrong password still fails.
    bob = parse(server, copy_keys, "GET", "/login", params={"username": "bob", "password": "b0b-secret"}).json()
    hidden = parse(server, copy_keys, "GET", f"/classes/Post/{post_id}",
                   headers={"X-Parse-Session-Token": bob["sessionToken"]})  # fmt: skip
    assert hidden.status_code == 404
    wrong = parse(server, copy_keys, "GET", "/login", params={"username": "ada", "password": "nope"})
    assert wrong.json()["code"] == 101
    # The old app's session token is not the copy's (sessions were not backed up).
    old = parse(server, copy_keys, "GET", "/users/me", headers={"X-Parse-Session-Token": made["ada"]["sessionToken"]})
    assert old.json()["code"] == 209
    # Cloud code (the active version, not the latest), its sealed variable and the index came along too.
    assert parse(server, copy_keys, "POST", "/functions/ping", json={}).json() == {"result": "pong"}
    assert parse(server, copy_keys, "POST", "/functions/secret", json={}).json() == {"result": "s3cr3t-value"}
    shown = alice_cli.ok("backup", "restore-status", restored["id"], "--org", str(tenant_a.organization.pk), "--json")
    assert shown.json()["status"] == "done"
    copy_schema = parse(server, copy_keys, "GET", "/schemas/Post", master=True).json()
    assert "title_1" in copy_schema["indexes"]


def test_restore_of_an_archive_file_replaces_an_existing_app(alice_cli: Cli, tenant_a: Tenant, tmp_path: Path):
    server = alice_cli.server
    _populate(server, tenant_a.keys, alice_cli, tmp_path)
    archive = tmp_path / "b.tar"
    alice_cli.ok("backup", "create", "--app", tenant_a.application_id, "-o", str(archive), "--sessions")
    other = alice_cli.ok("apps", "create", "other", "--json").json()
    other_keys = _keys(other)
    stale = parse(server, other_keys, "POST", "/classes/Stale", master=True, json={"gone": True})
    assert stale.status_code == 201, stale.text
    refused = alice_cli.run("backup", "restore", str(archive), "--app", "other")  # asks first; no answer: aborts
    assert refused.code == 1
    assert parse(server, other_keys, "GET", "/classes/Stale", master=True).json()["results"]

    result = alice_cli.ok("backup", "restore", str(archive), "--app", "other", "--yes", "--json").json()
    assert result["counts"]["objects"] > 30
    assert parse(server, other_keys, "GET", "/classes/Stale", master=True).json()["results"] == []
    assert _everything(server, other_keys) == _everything(server, tenant_a.keys)  # sessions included this time


def test_backups_are_for_admins_of_their_own_organization(
    alice_cli: Cli, bob_cli: Cli, tenant_a: Tenant, tenant_b: Tenant, live_server: LiveServer, tmp_path: Path
):
    backup = alice_cli.ok("backup", "create", "--app", tenant_a.application_id, "--json").json()
    org_a = tenant_a.organization.pk
    # Bob: not his organization's backup, not restorable into his own app, not downloadable.
    assert bob_cli.run("backup", "download", backup["id"], "--org", str(org_a), "-o", str(tmp_path / "x")).code == 4
    result = bob_cli.run("backup", "restore", backup["id"], "--app", tenant_b.application_id, "--yes")
    assert result.code == 4
    assert "not found" in result.stderr
    # Nor may he follow a restore into Alice's app, nor start one into it.
    restore = alice_cli.ok("backup", "restore", backup["id"], "--app", tenant_a.application_id, "--yes", "--json")
    restore_id = restore.json()["id"]
    assert bob_cli.run("backup", "restore-status", restore_id, "--org", str(org_a)).code == 4
    own_org = str(tenant_b.organization.pk)
    assert bob_cli.run("backup", "restore-status", restore_id, "--org", own_org).code == 4
    assert bob_cli.run("backup", "restore", backup["id"], "--app", tenant_a.application_id, "--yes").code == 4
    assert not (tmp_path / "x").exists()
    # A developer of Alice's organization may not back up or restore (a backup holds password hashes).
    developer = member_cli(live_server, tenant_a, tmp_path, "developer")
    result = developer.run("backup", "create", "--app", tenant_a.application_id)
    assert result.code == 4
    assert "admin role" in result.stderr
    assert Backup.objects.count() == 1
    # An end user of the app has no way in: the management API wants a developer's token.
    answer = httpx.get(
        f"{live_server.url}/api/v1/organizations/{org_a}/backups/{backup['id']}/archive",
        headers={"X-Parse-Application-Id": tenant_a.application_id, "X-Parse-REST-API-Key": tenant_a.keys["rest"]},
    )
    assert answer.status_code in {401, 403}


def test_a_file_that_is_not_a_backup_is_refused(alice_cli: Cli, tenant_a: Tenant, tmp_path: Path):
    fake = tmp_path / "fake.tar"
    fake.write_bytes(b"definitely not a tar archive" * 100)
    result = alice_cli.run("backup", "restore", str(fake), "--app", tenant_a.application_id, "--yes")
    assert result.code == 1
    assert "not a Hangar backup archive" in result.stderr
    assert parse(alice_cli.server, tenant_a.keys, "GET", "/schemas", master=True).status_code == 200
    # Into a new app: the app the command created is deleted again.
    result = alice_cli.run("backup", "restore", str(fake), "--new-app", "doomed")
    assert result.code == 1
    assert "deleted again" in result.stderr
    names = {app["name"] for app in alice_cli.ok("apps", "list", "--json").json()}
    assert "doomed" not in names


def test_scheduled_backups_run_on_the_tick_and_keep_the_newest(alice_cli: Cli, tenant_a: Tenant):
    from datetime import timedelta

    from django.utils import timezone

    from hangar.backups.models import BackupSchedule
    from hangar.backups.schedules import backup_schedules_tick

    app = tenant_a.application_id
    shown = alice_cli.ok("backup", "schedule", "--app", app, "--every", "24", "--keep", "2", "--json").json()
    assert (shown["schedule"]["every_hours"], shown["schedule"]["keep"]) == (24, 2)
    on_demand = alice_cli.ok("backup", "create", "--app", app, "--json").json()["id"]

    now = timezone.now()
    started = []
    for day in range(4):  # four days of ticks: one backup a day; a second tick the same day starts nothing
        moment = now + timedelta(days=day, minutes=1)
        started += backup_schedules_tick(now=moment)
        assert backup_schedules_tick(now=moment) == []
    assert len(started) == 4
    kept = Backup.objects.filter(app=tenant_a.app, scheduled=True)
    assert set(kept.values_list("public_id", flat=True)) == set(started[-2:])
    assert all(backup.status == "done" for backup in kept)
    assert Backup.objects.filter(public_id=on_demand).exists()  # on-demand backups are never pruned
    schedule = BackupSchedule.objects.get(app=tenant_a.app)
    assert schedule.next_run_at > now + timedelta(days=3)

    listed = alice_cli.ok("backup", "list", "--app", app, "--json").json()
    assert {row["id"] for row in listed} == {on_demand, *started[-2:]}
    alice_cli.ok("backup", "delete", on_demand, "--org", str(tenant_a.organization.pk))
    assert not Backup.objects.filter(public_id=on_demand).exists()
    alice_cli.ok("backup", "schedule", "--app", app, "--off")
    assert alice_cli.ok("backup", "schedule", "--app", app, "--json").json() == {"schedule": None}
    assert backup_schedules_tick(now=now + timedelta(days=30)) == []
