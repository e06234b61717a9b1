"""``hangar schema``: pull, diff, push, history, rollback and promote an app's schema file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import yaml

from hangar_cli.client import EXIT_CHANGES, CliError, api_from_config, app_path, app_resolve
from hangar_cli.output import APP_OPTION, console, emit, json_option, table


def schema_file_read(path: Path) -> Any:
    """A schema file: YAML for .yml/.yaml, JSON otherwise (both decode to the same document)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc}", 2) from exc
    try:
        return yaml.safe_load(text) if path.suffix in {".yml", ".yaml"} else json.loads(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise CliError(f"{path} is not valid {'YAML' if path.suffix in {'.yml', '.yaml'} else 'JSON'}: {exc}") from exc


def schema_file_write(path: Path, document: Any) -> None:
    if path.suffix in {".yml", ".yaml"}:
        path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))
    else:
        path.write_text(json.dumps(document, indent=2) + "\n")


def _print_plan(plan: dict[str, Any]) -> None:
    if not plan["changes"] and not plan["skipped_changes"]:
        console.print("No changes: the app's schema is the file's.")
    for line in plan["changes"]:
        console.print(f"  {line}")
    if plan["skipped_changes"]:
        console.print("Destructive, not applied without --allow-destructive:")
        for line in plan["skipped_changes"]:
            console.print(f"  {line}")


@click.group()
def schema() -> None:
    """Keep the app's schema (classes, fields, CLPs, indexes, LiveQuery classes) in a file."""


@schema.command()
@APP_OPTION
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here (.json or .yaml).")
@json_option
def pull(app_name: str | None, output: Path | None) -> None:
    """Write the app's current schema as a schema file (stdout without -o)."""
    api = api_from_config()
    document = api.get(app_path(app_resolve(api, app_name), "schema"))
    if output is None:
        click.echo(json.dumps(document, indent=2))
        return
    schema_file_write(output, document)
    emit({"written": str(output)}, lambda: console.print(f"Wrote {output} ({len(document['classes'])} classes)"))


@schema.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@APP_OPTION
@click.option("--allow-destructive", is_flag=True, help="Show drops as changes, not as skipped.")
@click.option("--exit-code", is_flag=True, help=f"Exit with {EXIT_CHANGES} when there are changes (for CI).")
@json_option
def diff(file: Path, app_name: str | None, allow_destructive: bool, exit_code: bool) -> None:
    """Show what `schema push FILE` would change; changes nothing."""
    api = api_from_config()
    body = {"schema": schema_file_read(file), "allow_destructive": allow_destructive}
    plan = api.post(app_path(app_resolve(api, app_name), "schema/diff"), json=body)
    emit(plan, lambda: _print_plan(plan))
    if exit_code and (plan["operations"] or plan["skipped"]):
        raise SystemExit(EXIT_CHANGES)


@schema.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@APP_OPTION
@click.option("--allow-destructive", is_flag=True, help="Also drop classes and fields the file lacks.")
@click.option("-m", "--message", default="", help="Recorded with the migration.")
@json_option
def push(file: Path, app_name: str | None, allow_destructive: bool, message: str) -> None:
    """Apply the file to the app as one recorded migration."""
    api = api_from_config()
    body = {"schema": schema_file_read(file), "allow_destructive": allow_destructive, "message": message}
    result = api.post(app_path(app_resolve(api, app_name), "schema/push"), json=body)

    def human() -> None:
        _print_plan(result)
        if result["migration"]:
            console.print(f"Applied as migration {result['migration']['number']}.")

    emit(result, human)


@schema.command()
@APP_OPTION
@json_option
def history(app_name: str | None) -> None:
    """The app's recorded migrations, newest first."""
    api = api_from_config()
    rows = api.get(app_path(app_resolve(api, app_name), "schema/migrations"))
    view = [
        {**row, "summary": "; ".join(row["changes"][:3]) + (" ..." if len(row["changes"]) > 3 else ""),
         "undone": "yes" if row["rolled_back"] else ""}
        for row in rows
    ]  # fmt: skip
    columns = [("number", "#"), ("created_at", "When"), ("author_email", "Author"), ("source", "Source"),
               ("summary", "Changes"), ("undone", "Rolled back")]  # fmt: skip
    emit(rows, lambda: table(view, columns) if rows else console.print("No migrations recorded yet."))


@schema.command()
@APP_OPTION
@click.option("--to", "number", type=int, help="The migration to undo (default: the latest).")
@json_option
def rollback(app_name: str | None, number: int | None) -> None:
    """Undo a migration; the undo is recorded as a migration of its own."""
    api = api_from_config()
    migration = api.post(app_path(app_resolve(api, app_name), "schema/rollback"), json={"number": number})

    def human() -> None:
        console.print(f"Rolled back migration {migration['reverts']} as migration {migration['number']}:")
        for line in migration["changes"]:
            console.print(f"  {line}")
        for lost in migration["irreversible"]:
            console.print(f"  not restored: {lost}")

    emit(migration, human)


@schema.command()
@click.option("--from", "source", required=True, help="The app whose schema is promoted (e.g. staging).")
@APP_OPTION
@click.option("--allow-destructive", is_flag=True, help="Also drop what the source app lacks.")
@json_option
def promote(source: str, app_name: str | None, allow_destructive: bool) -> None:
    """Make --app's schema the --from app's (staging to production), as a recorded migration."""
    api = api_from_config()
    source_app = app_resolve(api, source)
    target = app_resolve(api, app_name)
    body = {"source_application_id": source_app["application_id"], "allow_destructive": allow_destructive}
    result = api.post(app_path(target, "schema/promote"), json=body)

    def human() -> None:
        _print_plan(result)
        if result["migration"]:
            console.print(
                f"Promoted {source_app['name']} into {target['name']} as migration {result['migration']['number']}."
            )

    emit(result, human)
