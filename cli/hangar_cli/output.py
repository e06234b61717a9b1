"""What a command prints: a rich table or text for people, or one JSON document with --json for scripts."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import click
from rich.console import Console
from rich.table import Table

console = Console(highlight=False)
errors = Console(stderr=True, highlight=False)


def json_wanted() -> bool:
    ctx = click.get_current_context(silent=True)
    while ctx is not None:
        if ctx.meta.get("hangar.json"):
            return True
        ctx = ctx.parent
    return False


def _set_json(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        ctx.meta["hangar.json"] = True


json_option = click.option(
    "--json", "as_json", is_flag=True, expose_value=False, is_eager=True, callback=_set_json,
    help="Print one JSON document for scripts instead of text.",
)  # fmt: skip


def emit(data: Any, human: Callable[[], None]) -> None:
    if json_wanted():
        click.echo(json.dumps(data, indent=2, default=str))
    else:
        human()


def table(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str]], title: str | None = None) -> None:
    view = Table(title=title)
    for _, header in columns:
        view.add_column(header)
    for row in rows:
        view.add_row(*("" if row.get(key) is None else str(row.get(key)) for key, _ in columns))
    console.print(view)


def progress_note(message: str) -> None:
    """Progress for people goes to stderr, so --json output on stdout stays one document."""
    if not json_wanted():
        errors.print(message)


APP_OPTION = click.option("--app", "app_name", envvar="HANGAR_APP", help="App name, application id or id.")
