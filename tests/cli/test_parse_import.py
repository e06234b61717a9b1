"""A database written by the real Parse Server (npm, installed by bench/install.py) imported with
``hangar import parse``; the Parse JS SDK then logs in and reads against the imported app."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
from django.conf import settings

from tests.cli.conftest import Cli, parse
from tests.conftest import REPO_DIR, Tenant, _database_url, _free_port

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

NODE = shutil.which("node")
CHECK = Path(__file__).with_name("parse_import_check.mjs")


@dataclass
class ParseServer:
    url: str
    database_url: str
    files_dir: Path
    headers: dict[str, str]

    def call(self, method: str, path: str, *, master: bool = False, **kwargs: object) -> httpx.Response:
        headers = {**self.headers, **({"X-Parse-Master-Key": "import-test-master"} if master else {})}
        headers.update(kwargs.pop("headers", {}))  # type: ignore[arg-type]
        return httpx.request(method, f"{self.url}{path}", headers=headers, timeout=30, **kwargs)  # type: ignore[arg-type]


def _fresh_database(name: str) -> str:
    admin = _database_url(settings.DATABASES["default"])
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin.replace(f"/{settings.DATABASES['default']['NAME']}", f"/{name}", 1)


@pytest.fixture(scope="module")
def parse_server(django_db_setup: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ParseServer]:
    """Parse Server 9.10 (bench/parse's pins) on its own PostgreSQL database and a files directory."""
    from bench.install import ensure_parse_server

    cli = ensure_parse_server()
    database_url = _fresh_database(f"{settings.DATABASES['default']['NAME']}_parse")
    work = tmp_path_factory.mktemp("parse-server")
    port = _free_port()
    url = f"http://127.0.0.1:{port}/parse"
    command = [
        str(cli), "--appId", "import-test", "--masterKey", "import-test-master", "--restAPIKey", "import-test-rest",
        "--databaseURI", database_url, "--port", str(port), "--host", "127.0.0.1", "--mountPath", "/parse",
        "--serverURL", url, "--filesAdapter", "@parse/fs-files-adapter", "--masterKeyIps", "127.0.0.1,::1",
    ]  # fmt: skip
    log = (work / "parse.log").open("wb")
    process = subprocess.Popen(command, cwd=work, stdout=log, stderr=subprocess.STDOUT, env={**os.environ})
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"Parse Server did not start:\n{(work / 'parse.log').read_text()[-3000:]}")
        time.sleep(0.3)
    headers = {"X-Parse-Application-Id": "import-test", "X-Parse-REST-API-Key": "import-test-rest"}
    yield ParseServer(url=url, database_url=database_url, files_dir=work / "files", headers=headers)
    process.terminate()
    process.wait(timeout=10)
    log.close()
    with psycopg.connect(_database_url(settings.DATABASES["default"]), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{settings.DATABASES["default"]["NAME"]}_parse" WITH (FORCE)')


def _write_through_parse(server: ParseServer) -> dict[str, str]:
    """Users with passwords (and their sessions), a role, a file, objects with ACLs, pointers, dates, a relation,
    config, a push status; returns the users' Parse session tokens."""
    ada = server.call(
        "POST", "/users", json={"username": "ada", "password": "lovelace-1815", "email": "ada@example.com"}
    )
    bob = server.call("POST", "/users", json={"username": "bob", "password": "b0b-secret"})
    ada_id, bob_id = ada.json()["objectId"], bob.json()["objectId"]
    session = {"X-Parse-Session-Token": ada.json()["sessionToken"], "Content-Type": "text/plain"}
    uploaded = server.call("POST", "/files/hello.txt", content=b"hello from parse", headers=session).json()

    def pointer(user_id: str) -> dict[str, str]:
        return {"__type": "Pointer", "className": "_User", "objectId": user_id}

    made = server.call("POST", "/classes/Post", master=True, json={
        "title": "private", "author": pointer(ada_id), "when": {"__type": "Date", "iso": "2020-01-02T03:04:05.678Z"},
        "loc": {"__type": "GeoPoint", "latitude": 10, "longitude": 20}, "tags": ["a", 1], "meta": {"k": 1},
        "attachment": {"__type": "File", "name": uploaded["name"]},
        "fans": {"__op": "AddRelation", "objects": [pointer(ada_id), pointer(bob_id)]},
        "ACL": {ada_id: {"read": True, "write": True}},
    })  # fmt: skip
    assert made.status_code == 201, made.text
    server.call("POST", "/classes/Post", master=True, json={"title": "public", "n": 3})
    role = server.call("POST", "/roles", master=True, json={
        "name": "Editors", "ACL": {"*": {"read": True}}, "users": {"__op": "AddRelation", "objects": [pointer(ada_id)]},
    })  # fmt: skip
    assert role.status_code == 201, role.text
    assert server.call("PUT", "/config", master=True, json={"params": {"greeting": "hello"}}).status_code == 200
    # A push's status row as Parse writes it (Parse keeps _PushStatus out of _SCHEMA; no push adapter here).
    status = server.call("POST", "/classes/_PushStatus", master=True, json={
        "pushTime": "2024-05-06T07:08:09.000Z", "source": "rest", "query": '{"deviceType":"ios"}',
        "payload": '{"alert":"hi"}', "status": "succeeded", "numSent": 12, "numFailed": 1,
        "sentPerType": {"ios": 12}, "failedPerType": {"ios": 1},
    })  # fmt: skip
    assert status.status_code == 201, status.text
    return {"ada": ada.json()["sessionToken"], "bob": bob.json()["sessionToken"]}


def test_a_parse_server_database_imports_and_the_js_sdk_logs_in(
    alice_cli: Cli, tenant_a: Tenant, parse_server: ParseServer, tmp_path: Path
):
    if NODE is None or not (REPO_DIR / "node_modules" / "parse").exists():
        pytest.skip("node and node_modules/parse (make setup) are needed for the Parse JS SDK")
    tokens = _write_through_parse(parse_server)
    archive = tmp_path / "parse.tar"
    result = alice_cli.ok(
        "import", "parse", "--database-url", parse_server.database_url, "--files-dir", str(parse_server.files_dir),
        "--new-app", "from-parse", "--keep-archive", str(archive), "--json",
    ).json()  # fmt: skip
    assert result["missing_files"] == []
    assert result["classes"] == {"Post": 2, "_Role": 1, "_User": 2, "_Session": 2, "_PushStatus": 1, "_JobStatus": 0}
    assert result["counts"]["relations"] == 3
    with tarfile.open(archive) as tar:
        rows = gzip.decompress(tar.extractfile("objects.copy.gz").read())  # type: ignore[union-attr]
    assert tokens["ada"].encode() not in rows  # only the token's digest is kept, as Hangar keeps its own
    app = result["app"]
    env = {
        **os.environ, "SERVER_URL": f"{alice_cli.server.url}/parse", "APP_ID": app["application_id"],
        "JS_KEY": app["keys"]["javascript"], "NODE_NO_WARNINGS": "1", "ADA_PARSE_TOKEN": tokens["ada"],
    }  # fmt: skip
    done = subprocess.run([NODE, str(CHECK)], cwd=REPO_DIR, env=env, capture_output=True, text=True, timeout=120)  # type: ignore[list-item]
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    assert "imported app checked" in done.stdout
    # Both fans are related (the master key sees past the users' own ACLs).
    keys = {**app["keys"], "application_id": app["application_id"]}
    post = parse(alice_cli.server, keys, "GET", "/classes/Post", master=True, params={"where": '{"title":"private"}'})
    post_id = post.json()["results"][0]["objectId"]
    related = {"$relatedTo": {"object": {"__type": "Pointer", "className": "Post", "objectId": post_id}, "key": "fans"}}
    fans = parse(alice_cli.server, keys, "GET", "/users", master=True, params={"where": json.dumps(related)}).json()
    assert sorted(user["username"] for user in fans["results"]) == ["ada", "bob"]
    # The imported schema is Parse's: pull shows the classes with their types.
    schema = json.loads(alice_cli.ok("schema", "pull", "--app", app["application_id"]).stdout)
    assert schema["classes"]["Post"]["fields"]["author"] == {"type": "Pointer", "targetClass": "_User"}
    assert schema["classes"]["Post"]["fields"]["fans"] == {"type": "Relation", "targetClass": "_User"}
    _sessions_and_push_status_came_along(alice_cli, keys, tokens)


def _sessions_and_push_status_came_along(cli: Cli, keys: dict[str, str], tokens: dict[str, str]) -> None:
    """Users logged in on Parse are still logged in on Hangar; each session is its user's alone; push history."""
    server = cli.server
    bob = {"X-Parse-Session-Token": tokens["bob"]}
    me = parse(server, keys, "GET", "/users/me", headers=bob)
    assert (me.status_code, me.json()["username"]) == (200, "bob"), me.text
    sessions = parse(server, keys, "GET", "/sessions", headers=bob).json()["results"]
    assert {row["user"]["objectId"] for row in sessions} == {me.json()["objectId"]}  # his own only, not ada's
    assert tokens["ada"] not in json.dumps(sessions)
    made_up = parse(server, keys, "GET", "/users/me", headers={"X-Parse-Session-Token": "r:" + "0" * 32})
    assert made_up.json()["code"] == 209
    assert parse(server, keys, "POST", "/logout", headers=bob).status_code == 200
    assert parse(server, keys, "GET", "/users/me", headers=bob).json()["code"] == 209
    pushes = parse(server, keys, "GET", "/classes/_PushStatus", master=True).json()["results"]
    assert [(p["status"], p["numSent"], p["sentPerType"]) for p in pushes] == [("succeeded", 12, {"ios": 12})]
    refused = parse(server, keys, "GET", "/classes/_PushStatus", headers={"X-Parse-Session-Token": tokens["ada"]})
    assert refused.status_code >= 400  # clients never read push statuses, as on Parse


def test_a_json_export_imports_with_bcrypt_passwords(alice_cli: Cli, tenant_a: Tenant, tmp_path: Path):
    import bcrypt

    export = tmp_path / "export"
    export.mkdir()
    hashed = bcrypt.hashpw(b"from-parse-com", bcrypt.gensalt(rounds=4)).decode()
    grace = "u1AAAAAAAA"
    users = [{
        "objectId": grace, "username": "grace", "bcryptPassword": hashed, "createdAt": "2015-01-01T00:00:00.000Z",
        "updatedAt": "2015-01-02T00:00:00.000Z", "ACL": {"*": {"read": True}, grace: {"write": True}},
    }]  # fmt: skip
    owner = {"__type": "Pointer", "className": "_User", "objectId": grace}
    notes = {"results": [{
        "objectId": "n1AAAAAAAA", "text": "hi", "owner": owner,
        "createdAt": "2015-01-03T00:00:00.000Z", "updatedAt": "2015-01-03T00:00:00.000Z",
    }]}  # fmt: skip
    (export / "_User.json").write_text(json.dumps(users))
    (export / "Note.json").write_text(json.dumps(notes))
    token = "r:" + "ab" * 16
    (export / "_Session.json").write_text(json.dumps([
        {"objectId": "s1", "sessionToken": "r:x"},  # nobody's session: left out
        {"objectId": "s2", "sessionToken": token, "user": owner, "createdWith": {"action": "login"},
         "expiresAt": {"__type": "Date", "iso": "2999-01-01T00:00:00.000Z"}},
    ]))  # fmt: skip
    result = alice_cli.ok(
        "import", "parse", "--json-dir", str(export), "--app", tenant_a.application_id, "--yes", "--json"
    )
    assert result.json()["classes"] == {"Note": 1, "_User": 1, "_Session": 1}
    me = parse(alice_cli.server, tenant_a.keys, "GET", "/users/me", headers={"X-Parse-Session-Token": token})
    assert me.json()["username"] == "grace", me.text
    login = parse(
        alice_cli.server, tenant_a.keys, "GET", "/login", params={"username": "grace", "password": "from-parse-com"}
    )
    assert login.status_code == 200, login.text
    note = parse(alice_cli.server, tenant_a.keys, "GET", "/classes/Note/n1AAAAAAAA", params={"include": "owner"}).json()
    assert note["owner"]["username"] == "grace"
    assert note["createdAt"] == "2015-01-03T00:00:00.000Z"


def test_a_database_that_is_not_parses_is_refused(alice_cli: Cli, tenant_a: Tenant):
    url = _database_url(settings.DATABASES["default"])
    result = alice_cli.run("import", "parse", "--database-url", url, "--app", tenant_a.application_id, "--yes")
    assert result.code == 1
    assert "no _SCHEMA table" in result.stderr
