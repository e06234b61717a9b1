"""The CLI's skeleton: login (token kept 0600), apps, --json, exit codes, --help everywhere, completion."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import click
import pytest

from tests.cli.conftest import CLI_DIR, Cli
from tests.conftest import LiveServer, Tenant

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_login_keeps_the_token_readable_by_its_owner_only(alice_cli: Cli, tenant_a: Tenant):
    config = alice_cli.config_dir / "config.json"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert alice_cli.token in config.read_text()
    me = alice_cli.ok("whoami", "--json").json()
    assert me["email"] == tenant_a.developer.email


def test_a_refused_token_is_not_kept_and_exits_3(live_server: LiveServer, tmp_path: Path):
    cli = Cli(server=live_server, config_dir=tmp_path / "x", token="hgr_not-a-real-token")
    result = cli.run("login", "--server", live_server.url, "--token", cli.token)
    assert result.code == 3
    assert "Invalid or expired access token." in result.stderr
    assert not (tmp_path / "x" / "config.json").exists()


def test_not_logged_in_exits_3_with_a_hint(live_server: LiveServer, tmp_path: Path):
    cli = Cli(server=live_server, config_dir=tmp_path / "nobody", token="")
    result = cli.run("apps", "list")
    assert result.code == 3
    assert "hangar login" in result.stderr


def test_unreachable_server_exits_5(tmp_path: Path):
    cli = Cli(server=LiveServer(url="http://127.0.0.1:9", process=None), config_dir=tmp_path / "y", token="hgr_x")  # type: ignore[arg-type]
    result = cli.run("login", "--server", "http://127.0.0.1:9", "--token", "hgr_x")
    assert result.code == 5
    assert "cannot reach" in result.stderr


def test_apps_create_and_list(alice_cli: Cli, tenant_a: Tenant):
    created = alice_cli.ok("--json", "apps", "create", "second-app").json()
    assert created["name"] == "second-app"
    assert created["keys"]["rest"]
    listed = alice_cli.ok("apps", "list", "--json").json()
    assert {app["name"] for app in listed} == {tenant_a.app.name, "second-app"}
    human = alice_cli.ok("apps", "list").stdout
    assert "second-app" in human
    assert created["application_id"] in human


def test_server_errors_are_shown_with_exit_1(alice_cli: Cli):
    result = alice_cli.run("apps", "create", "x" * 300)
    assert result.code == 1
    assert "name" in result.stderr.lower()
    assert "Traceback" not in result.stderr


def test_another_tenants_app_is_not_found(alice_cli: Cli, tenant_b: Tenant):
    result = alice_cli.run("schema", "pull", "--app", tenant_b.application_id)
    assert result.code == 4
    assert "no app" in result.stderr


def test_open_prints_the_apps_dashboard_page(alice_cli: Cli, tenant_a: Tenant):
    url = alice_cli.ok("open", "--app", tenant_a.app.name, "--json").json()["url"]
    assert url == f"{alice_cli.server.url}/orgs/{tenant_a.organization.pk}/apps/{tenant_a.app.pk}/"


def test_logout_forgets_the_token(alice_cli: Cli):
    alice_cli.ok("logout")
    assert not (alice_cli.config_dir / "config.json").exists()
    assert alice_cli.run("whoami").code == 3


def test_completion_script(alice_cli: Cli):
    script = alice_cli.ok("completion", "bash").stdout
    assert "_HANGAR_COMPLETE" in script
    assert "complete -o nosort -F" in script


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in group.commands.items():
        found.append((*prefix, name))
        if isinstance(command, click.Group):
            found += _commands(command, (*prefix, name))
    return found


def test_every_command_has_help(alice_cli: Cli):
    sys.path.insert(0, str(CLI_DIR))
    try:
        from hangar_cli.main import cli
    finally:
        sys.path.remove(str(CLI_DIR))
    commands = _commands(cli)
    assert ("schema", "push") in commands
    assert ("backup", "restore") in commands
    for path in commands:
        result = alice_cli.ok(*path, "--help")
        assert "Usage: hangar" in result.stdout, path
        assert len(result.stdout.splitlines()) > 3, path


def test_the_cli_imports_nothing_of_the_platform():
    """It is a client of the management API only (docs/cli.md): anything it does, a script can do over HTTP."""
    import ast

    platform_packages = {"hangar", "tenants", "dashboard", "hangar_cloud", "django", "rest_framework"}
    for path in (CLI_DIR / "hangar_cli").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not {name.split(".")[0] for name in names} & platform_packages, path


def test_the_installed_command_is_declared():
    """``pip install ./cli`` (make setup) installs ``hangar``, pointing at the main function the tests run."""
    import tomllib

    project = tomllib.loads((CLI_DIR / "pyproject.toml").read_text())["project"]
    assert project["scripts"] == {"hangar": "hangar_cli.main:main"}
    sys.path.insert(0, str(CLI_DIR))
    try:
        from hangar_cli import main
    finally:
        sys.path.remove(str(CLI_DIR))
    assert callable(main.main)
