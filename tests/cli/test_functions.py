"""``hangar functions deploy`` and ``hangar logs`` against the live server's real sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import Cli, parse
from tests.conftest import Tenant

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

MAIN = """
from hangar_cloud import define

@define("hello")
def hello(request):
    request.log.info("greeting", request.params.get("name"))
    return "Hello " + str(request.params.get("name"))
"""


def test_deploy_lists_the_handlers_and_logs_show_the_run(alice_cli: Cli, tenant_a: Tenant, tmp_path: Path):
    bundle = tmp_path / "cloud"
    bundle.mkdir()
    (bundle / "main.py").write_text(MAIN)
    (bundle / "__pycache__").mkdir()
    (bundle / "__pycache__" / "main.cpython-311.pyc").write_bytes(b"not shipped")
    app = tenant_a.application_id

    deployed = alice_cli.ok("functions", "deploy", str(bundle), "--app", app, "--note", "from the CLI")
    assert "Version 1" in deployed.stdout
    assert "function: hello" in deployed.stdout

    ran = parse(alice_cli.server, tenant_a.keys, "POST", "/functions/hello", json={"name": "Ada"})
    assert ran.json() == {"result": "Hello Ada"}
    records = []
    for _ in range(20):  # the invocation record is flushed within a second
        records = [
            line for line in alice_cli.ok("logs", "--app", app, "--json").stdout.splitlines() if '"hello"' in line
        ]
        if records:
            break
        import time

        time.sleep(0.3)
    assert records
    assert "greeting Ada" in records[0]
    followed = alice_cli.ok("logs", "--app", app, "--follow", "--max-polls", "2", "--interval", "0.2")
    assert "hello ok" in followed.stdout


def test_a_directory_without_main_py_is_a_usage_error(alice_cli: Cli, tenant_a: Tenant, tmp_path: Path):
    result = alice_cli.run("functions", "deploy", str(tmp_path), "--app", tenant_a.application_id)
    assert result.code == 2
    assert "main.py" in result.stderr


def test_an_invalid_bundle_shows_the_servers_message(alice_cli: Cli, tenant_a: Tenant, tmp_path: Path):
    (tmp_path / "main.py").write_text("def broken(:\n")
    result = alice_cli.run("functions", "deploy", str(tmp_path), "--app", tenant_a.application_id)
    assert result.code == 1
    assert "main.py" in result.stderr
    assert "Traceback" not in result.stderr


def test_list_and_activate_an_earlier_version(alice_cli: Cli, tenant_a: Tenant, tmp_path: Path):
    app = tenant_a.application_id
    for word in ("one", "two"):
        bundle = tmp_path / word
        bundle.mkdir()
        (bundle / "main.py").write_text(MAIN.replace('"Hello "', f'"{word} "'))
        alice_cli.ok("functions", "deploy", str(bundle), "--app", app)
    listed = alice_cli.ok("functions", "list", "--app", app, "--json").json()
    assert [(row["number"], row["active"]) for row in listed] == [(2, True), (1, False)]
    assert parse(alice_cli.server, tenant_a.keys, "POST", "/functions/hello", json={"name": "x"}).json() == {
        "result": "two x"
    }
    alice_cli.ok("functions", "activate", "1", "--app", app)
    assert parse(alice_cli.server, tenant_a.keys, "POST", "/functions/hello", json={"name": "x"}).json() == {
        "result": "one x"
    }
    assert alice_cli.run("functions", "activate", "9", "--app", app).code == 4
