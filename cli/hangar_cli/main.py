"""``hangar``: the root command, login, apps, opening the dashboard and shell completion."""

from __future__ import annotations

import os
import sys
import webbrowser

import click
import httpx
from click.shell_completion import get_completion_class

from hangar_cli import __version__
from hangar_cli.client import EXIT_UNAVAILABLE, TIMEOUT, Api, CliError, api_from_config, app_resolve, raise_for
from hangar_cli.commands.backup import backup, import_group
from hangar_cli.commands.build import build
from hangar_cli.commands.functions import functions, logs
from hangar_cli.commands.schema import schema
from hangar_cli.commands.sdk import sdk
from hangar_cli.config import Credentials, credentials_forget, credentials_save
from hangar_cli.output import APP_OPTION, console, emit, json_option, table


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hangar")
@json_option
def cli() -> None:
    """Manage Hangar apps from a terminal or a script: schema as code, cloud code, backups, imports, SDKs, builds."""


def _token_from(token: str | None, email: str | None, server: str) -> str:
    if token:
        return token
    if email:
        password = click.prompt("Password", hide_input=True)
        try:
            response = httpx.post(
                server.rstrip("/") + "/api/v1/auth/token",
                json={"email": email, "password": password, "name": "hangar CLI"},
                timeout=TIMEOUT,
            )
        except httpx.TransportError as exc:
            raise CliError(f"cannot reach {server}: {exc}", EXIT_UNAVAILABLE) from exc
        raise_for(response)
        return str(response.json()["token"])
    return str(click.prompt("Personal access token (hgr_...)", hide_input=True))


@cli.command()
@click.option("--server", envvar="HANGAR_SERVER", default="http://127.0.0.1:8000", show_default=True)
@click.option("--token", envvar="HANGAR_TOKEN", help="A personal access token (else asked for, hidden).")
@click.option("--email", help="Sign in with email and password instead: a token is created for this CLI.")
@json_option
def login(server: str, token: str | None, email: str | None) -> None:
    """Check a personal access token against the server and keep it (file mode 0600)."""
    token = _token_from(token, email, server)
    me = Api(Credentials(server=server, token=token)).get("me")
    path = credentials_save(Credentials(server=server, token=token, email=me.get("email", "")))
    emit({"server": server, "email": me.get("email"), "config": str(path)},
         lambda: console.print(f"Logged in to {server} as {me.get('email')} (token kept in {path})"))  # fmt: skip


@cli.command()
@json_option
def logout() -> None:
    """Forget the kept token (it stays valid on the server until revoked or expired)."""
    forgotten = credentials_forget()
    emit({"logged_out": forgotten}, lambda: console.print("Logged out." if forgotten else "Not logged in."))


@cli.command()
@json_option
def whoami() -> None:
    """The developer the kept token belongs to."""
    api = api_from_config()
    me = api.get("me")
    emit({**me, "server": api.credentials.server}, lambda: console.print(f"{me['email']} on {api.credentials.server}"))


@cli.group()
def apps() -> None:
    """List and create apps."""


@apps.command("list")
@json_option
def apps_list() -> None:
    """Every app of every organization you belong to."""
    api = api_from_config()
    rows = []
    for org in api.get("organizations"):
        for app in api.get(f"organizations/{org['id']}/apps"):
            rows.append({**app, "organization": org["name"]})
    columns = [("name", "App"), ("application_id", "Application id"), ("organization", "Organization"), ("id", "Id")]
    emit(rows, lambda: table(rows, columns) if rows else console.print("No apps yet: `hangar apps create NAME`."))


@apps.command("create")
@click.argument("name")
@click.option("--org", "org_id", type=int, help="Organization id (needed when you belong to several).")
@json_option
def apps_create(name: str, org_id: int | None) -> None:
    """Create and provision an app; prints its keys."""
    api = api_from_config()
    if org_id is None:
        orgs = api.get("organizations")
        if len(orgs) != 1:
            names = ", ".join(f"{org['id']} ({org['name']})" for org in orgs)
            raise CliError(f"you belong to {len(orgs)} organizations; choose one with --org: {names}", 2)
        org_id = orgs[0]["id"]
    app = api.post(f"organizations/{org_id}/apps", json={"name": name})

    def human() -> None:
        console.print(f"Created {app['name']} (application id {app['application_id']})")
        for kind, value in (app.get("keys") or {}).items():
            if value:
                console.print(f"  {kind}: {value}")

    emit(app, human)


@cli.command("open")
@APP_OPTION
@click.option("--print-only", is_flag=True, help="Print the URL without starting a browser.")
@json_option
def open_dashboard(app_name: str | None, print_only: bool) -> None:
    """Open the app's page of the dashboard (or the dashboard's home without --app)."""
    api = api_from_config()
    base = api.credentials.server.rstrip("/")
    url = base + "/"
    if app_name:
        app = app_resolve(api, app_name)
        url = f"{base}/orgs/{app['organization_id']}/apps/{app['id']}/"
    if not print_only and not os.environ.get("HANGAR_NO_BROWSER"):
        webbrowser.open(url)
    emit({"url": url}, lambda: console.print(url))


@cli.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the shell completion script, e.g. `eval "$(hangar completion bash)"` in ~/.bashrc."""
    completion_class = get_completion_class(shell)
    assert completion_class is not None  # the three choices are click's own
    click.echo(completion_class(cli, {}, "hangar", "_HANGAR_COMPLETE").source())


cli.add_command(schema)
cli.add_command(functions)
cli.add_command(logs)
cli.add_command(backup)
cli.add_command(import_group)
cli.add_command(sdk)
cli.add_command(build)


def main() -> None:
    try:
        cli(prog_name="hangar")
    except KeyboardInterrupt:
        sys.exit(130)
