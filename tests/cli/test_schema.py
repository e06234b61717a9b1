"""Schema as code through the CLI: diff, push as a recorded migration, history, rollback, promotion."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hangar.schema_history.models import SchemaMigration
from tests.cli.conftest import Cli, member_cli, parse
from tests.conftest import LiveServer, Tenant

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

SCHEMA = {
    "hangarSchema": 1,
    "classes": {
        "Post": {
            "fields": {
                "title": {"type": "String", "required": True},
                "score": {"type": "Number", "defaultValue": 0},
                "author": {"type": "Pointer", "targetClass": "_User"},
                "secretNote": {"type": "String"},
            },
            "classLevelPermissions": {
                "find": {"*": True},
                "get": {"*": True},
                "count": {"*": True},
                "create": {"requiresAuthentication": True},
                "update": {"requiresAuthentication": True},
                "delete": {},
                "addField": {},
                "protectedFields": {"*": ["secretNote"]},
            },
            "indexes": {"title_1": {"title": 1}},
        }
    },
    "liveQuery": {"classes": ["Post"]},
}


def _write(path: Path, document: dict) -> Path:
    path.write_text(yaml.safe_dump(document))
    return path


def _schema_of(server: LiveServer, tenant: Tenant, class_name: str) -> dict:
    response = parse(server, tenant.keys, "GET", f"/schemas/{class_name}", master=True)
    return response.json()


def test_push_applies_the_file_as_a_recorded_migration(alice_cli: Cli, tenant_a: Tenant, tmp_path: Path):
    app = tenant_a.application_id
    file = _write(tmp_path / "schema.yaml", SCHEMA)
    diff = alice_cli.ok("schema", "diff", str(file), "--app", app, "--json").json()
    assert [op["op"] for op in diff["operations"]] == ["addClass", "setLiveQueryClasses"]
    assert alice_cli.run("schema", "diff", str(file), "--app", app, "--exit-code").code == 6

    pushed = alice_cli.ok("schema", "push", str(file), "--app", app, "-m", "first", "--json").json()
    assert pushed["migration"]["number"] == 1
    assert pushed["migration"]["author_email"] == tenant_a.developer.email

    # The Parse API sees exactly what the file says: fields, options, CLP, the index.
    post = _schema_of(alice_cli.server, tenant_a, "Post")
    assert post["fields"]["title"] == {"type": "String", "required": True}
    assert post["fields"]["author"] == {"type": "Pointer", "targetClass": "_User"}
    assert post["classLevelPermissions"]["protectedFields"] == {"*": ["secretNote"]}
    assert "title_1" in post["indexes"]
    tenant_a.app.refresh_from_db()
    assert tenant_a.app.live_query_classes == ["Post"]

    # The CLP is in force for a client: no session, no create (Parse's 101 "needs to be authenticated").
    refused = parse(alice_cli.server, tenant_a.keys, "POST", "/classes/Post", json={"title": "x"})
    assert refused.json() == {"code": 101, "error": "Permission denied, user needs to be authenticated."}

    # Pull gives back the same document; pushing it again changes nothing.
    pulled = alice_cli.ok("schema", "pull", "--app", app).stdout
    assert yaml.safe_load(pulled)["classes"]["Post"] == SCHEMA["classes"]["Post"]
    assert alice_cli.ok("schema", "diff", str(file), "--app", app, "--exit-code").code == 0
    again = alice_cli.ok("schema", "push", str(file), "--app", app, "--json").json()
    assert again["migration"] is None
    history = alice_cli.ok("schema", "history", "--app", app, "--json").json()
    assert [row["number"] for row in history] == [1]
    assert history[0]["message"] == "first"


def test_drops_need_allow_destructive_and_rollback_restores(alice_cli: Cli, tenant_a: Tenant, tmp_path: Path):
    app = tenant_a.application_id
    alice_cli.ok("schema", "push", str(_write(tmp_path / "v1.yaml", SCHEMA)), "--app", app)
    parse(alice_cli.server, tenant_a.keys, "POST", "/classes/Post", master=True, json={"title": "kept", "score": 3})

    changed = yaml.safe_load(yaml.safe_dump(SCHEMA))
    post = changed["classes"]["Post"]
    del post["fields"]["score"]
    post["fields"]["views"] = {"type": "Number"}
    post["fields"]["title"] = {"type": "String"}  # no longer required
    del post["indexes"]
    v2 = _write(tmp_path / "v2.yaml", changed)

    safe = alice_cli.ok("schema", "push", str(v2), "--app", app, "--json").json()
    assert {op["op"] for op in safe["operations"]} == {"addField", "changeField", "dropIndex"}
    assert [(op["op"], op["field"]) for op in safe["skipped"]] == [("dropField", "score")]
    assert "score" in _schema_of(alice_cli.server, tenant_a, "Post")["fields"]

    dropped = alice_cli.ok("schema", "push", str(v2), "--app", app, "--allow-destructive", "--json").json()
    assert dropped["migration"]["number"] == 3
    assert dropped["migration"]["irreversible"] == ["the values of Post.score (the field comes back empty)"]
    assert "score" not in _schema_of(alice_cli.server, tenant_a, "Post")["fields"]

    undo = alice_cli.ok("schema", "rollback", "--app", app, "--json").json()
    assert (undo["number"], undo["reverts"], undo["source"]) == (4, 3, "rollback")
    assert _schema_of(alice_cli.server, tenant_a, "Post")["fields"]["score"] == {"type": "Number", "defaultValue": 0}
    undo = alice_cli.ok("schema", "rollback", "--app", app, "--json").json()
    assert undo["reverts"] == 2
    post_now = _schema_of(alice_cli.server, tenant_a, "Post")
    assert post_now["fields"]["title"] == {"type": "String", "required": True}
    assert "views" not in post_now["fields"]
    assert "title_1" in post_now["indexes"]
    rows = {row.number: row for row in SchemaMigration.objects.filter(app=tenant_a.app)}
    assert rows[2].rolled_back
    assert rows[3].rolled_back
    assert not rows[1].rolled_back
    text = alice_cli.ok("schema", "history", "--app", app).stdout
    assert "rollback" in text


def test_a_bad_file_is_refused_with_the_place_named(alice_cli: Cli, tenant_a: Tenant, tmp_path: Path):
    bad = {"classes": {"Post": {"fields": {"title": {"type": "Strin"}}}}}
    result = alice_cli.run("schema", "push", str(_write(tmp_path / "bad.yaml", bad)), "--app", tenant_a.application_id)
    assert result.code == 1
    assert "classes.Post.fields.title.type" in result.stderr
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    result = alice_cli.run("schema", "diff", str(broken), "--app", tenant_a.application_id)
    assert result.code == 1
    assert "not valid JSON" in result.stderr
    bad_live = {"classes": {}, "liveQuery": {"classes": ["Post", "no spaces please"]}}
    result = alice_cli.run(
        "schema", "diff", str(_write(tmp_path / "l.yaml", bad_live)), "--app", tenant_a.application_id
    )
    assert result.code == 1
    assert "liveQuery.classes" in result.stderr
    # The datastore's own check (a default of the wrong type) comes back as the server's message.
    wrong = {"classes": {"Post": {"fields": {"n": {"type": "Number", "defaultValue": "x"}}}}}
    result = alice_cli.run("schema", "push", str(_write(tmp_path / "w.yaml", wrong)), "--app", tenant_a.application_id)
    assert result.code == 1
    assert "default value" in result.stderr
    assert not SchemaMigration.objects.filter(app=tenant_a.app).exists()


def test_promote_copies_staging_into_production(alice_cli: Cli, tenant_a: Tenant, tmp_path: Path):
    production = alice_cli.ok("apps", "create", "production", "--json").json()
    alice_cli.ok("schema", "push", str(_write(tmp_path / "s.yaml", SCHEMA)), "--app", tenant_a.application_id)
    promoted = alice_cli.ok(
        "schema", "promote", "--from", tenant_a.application_id, "--app", production["application_id"], "--json"
    ).json()
    assert promoted["migration"]["source"] == "promotion"
    assert promoted["migration"]["promoted_from"] == tenant_a.application_id
    target = alice_cli.ok("schema", "pull", "--app", production["application_id"]).stdout
    assert yaml.safe_load(target)["classes"]["Post"] == SCHEMA["classes"]["Post"]


def test_other_tenants_and_viewers_cannot_change_the_schema(
    alice_cli: Cli, bob_cli: Cli, tenant_a: Tenant, tenant_b: Tenant, live_server: LiveServer, tmp_path: Path
):
    file = _write(tmp_path / "s.yaml", SCHEMA)
    # Bob cannot name Alice's app, nor reach it through the API by its ids.
    assert bob_cli.run("schema", "push", str(file), "--app", tenant_a.application_id).code == 4
    import httpx

    url = f"{live_server.url}/api/v1/organizations/{tenant_a.organization.pk}/apps/{tenant_a.app.pk}/schema/push"
    answer = httpx.post(url, json={"schema": SCHEMA}, headers={"Authorization": f"Bearer {bob_cli.token}"})
    assert answer.status_code == 404
    # Promoting from an app of someone else's organization is refused the same way.
    url = f"{live_server.url}/api/v1/organizations/{tenant_b.organization.pk}/apps/{tenant_b.app.pk}/schema/promote"
    bearer = {"Authorization": f"Bearer {bob_cli.token}"}
    answer = httpx.post(url, json={"source_application_id": tenant_a.application_id}, headers=bearer)
    assert answer.status_code == 404
    # A viewer of Alice's organization reads the schema but may not push.
    viewer = member_cli(live_server, tenant_a, tmp_path, "viewer")
    assert viewer.ok("schema", "pull", "--app", tenant_a.application_id).stdout
    result = viewer.run("schema", "push", str(file), "--app", tenant_a.application_id)
    assert result.code == 4
    assert "developer role" in result.stderr
    # A Parse client of the app (REST key, no master) cannot read or change the schema.
    assert parse(live_server, tenant_a.keys, "GET", "/schemas").status_code in {401, 403}
    assert not SchemaMigration.objects.filter(app=tenant_a.app).exists()


def test_changes_through_parse_schemas_are_recorded_and_can_be_rolled_back(alice_cli: Cli, tenant_a: Tenant):
    """Parse Dashboard edits (``/schemas`` with the master key) land in the same history as pushes."""
    server, app = alice_cli.server, tenant_a.application_id
    created = parse(
        server, tenant_a.keys, "POST", "/schemas/Game", master=True, json={"fields": {"name": {"type": "String"}}}
    )
    assert created.status_code == 200, created.text
    changed = parse(server, tenant_a.keys, "PUT", "/schemas/Game", master=True, json={
        "fields": {"level": {"type": "Number"}}, "indexes": {"level_1": {"level": 1}},
    })  # fmt: skip
    assert changed.status_code == 200, changed.text
    history = alice_cli.ok("schema", "history", "--app", app, "--json").json()
    assert [(row["number"], row["source"]) for row in history] == [(2, "parse_api"), (1, "parse_api")]
    assert [op["op"] for op in history[0]["operations"]] == ["addField", "addIndex"]
    assert history[1]["operations"][0]["op"] == "addClass"

    alice_cli.ok("schema", "rollback", "--app", app)
    game = _schema_of(server, tenant_a, "Game")
    assert "level" not in game["fields"]
    assert "level_1" not in game.get("indexes", {})
    assert "name" in game["fields"]
    # A refused /schemas change records nothing; a client without the master key changes nothing.
    refused = parse(
        server, tenant_a.keys, "PUT", "/schemas/Game", master=True, json={"fields": {"name": {"type": "Number"}}}
    )
    assert refused.status_code == 400
    denied = parse(server, tenant_a.keys, "PUT", "/schemas/Game", json={"fields": {"x": {"type": "String"}}})
    assert denied.status_code in {401, 403}
    assert SchemaMigration.objects.filter(app=tenant_a.app).count() == 3
