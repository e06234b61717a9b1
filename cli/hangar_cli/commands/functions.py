"""``hangar functions deploy`` and ``hangar logs``: cloud code through its management API."""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn, TransferSpeedColumn

from hangar_cli.client import CliError, api_from_config, app_path, app_resolve
from hangar_cli.output import APP_OPTION, console, emit, errors, json_option, json_wanted, table

SKIPPED_DIRS = {"__pycache__", ".git", ".venv", "node_modules"}


def bundle_zip(directory: Path) -> bytes:
    """The directory as the zip the server expects (main.py at its root)."""
    if not (directory / "main.py").is_file():
        raise CliError(f"{directory} has no main.py: a bundle's entry point is main.py at its root", 2)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(directory.rglob("*")):
            relative = path.relative_to(directory)
            if path.is_file() and not SKIPPED_DIRS & set(relative.parts) and path.suffix != ".pyc":
                archive.write(path, relative.as_posix())
    return buffer.getvalue()


def _chunks(data: bytes, progress: Progress | None, task: TaskID | None) -> Iterator[bytes]:
    for start in range(0, len(data), 1 << 15):
        chunk = data[start : start + (1 << 15)]
        if progress is not None and task is not None:
            progress.update(task, advance=len(chunk))
        yield chunk


def upload_progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
        console=errors, disable=json_wanted(),
    )  # fmt: skip


@click.group()
def functions() -> None:
    """Cloud code: deploy a bundle, list versions, activate (roll back to) one."""


@functions.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path), default=".")
@APP_OPTION
@click.option("--note", default="", help="Recorded with the version.")
@click.option("--no-activate", is_flag=True, help="Upload and validate, but keep the running version.")
@json_option
def deploy(directory: Path, app_name: str | None, note: str, no_activate: bool) -> None:
    """Zip DIRECTORY, upload it, let the server validate it in the sandbox, and list the handlers registered."""
    api = api_from_config()
    app = app_resolve(api, app_name)
    archive = bundle_zip(directory)
    boundary = "hangar-cli-bundle"
    activate = "false" if no_activate else "true"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="note"\r\n\r\n{note}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="activate"\r\n\r\n{activate}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="bundle"; filename="bundle.zip"\r\n'
        "Content-Type: application/zip\r\n\r\n"
    ).encode()
    body = head + archive + f"\r\n--{boundary}--\r\n".encode()
    with upload_progress() as progress:
        task = progress.add_task("uploading", total=len(body))
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}", "Content-Length": str(len(body))}
        progress.update(task, description="uploading")
        stream = _chunks(body, progress, task)
        validating = progress.add_task("validating in the sandbox", total=None, start=False)
        version = api.post(app_path(app, "cloud-code/versions"), content=stream, headers=headers)
        progress.update(validating, total=1, completed=1)

    def human() -> None:
        state = "running" if version.get("active") else "stored (not activated)"
        console.print(f"Version {version['number']} of {app['name']} {state}.")
        handlers = version.get("handlers") or {}
        for kind in ("functions", "triggers", "jobs"):
            for item in handlers.get(kind, []):
                label = item.get("name") or f"{item.get('kind')} {item.get('className')}"
                console.print(f"  {kind[:-1]}: {label}")

    emit(version, human)


@functions.command("list")
@APP_OPTION
@json_option
def functions_list(app_name: str | None) -> None:
    """The app's cloud-code versions, newest first, and which one runs."""
    api = api_from_config()
    rows = api.get(app_path(app_resolve(api, app_name), "cloud-code/versions"))
    view = [
        {**row, "running": "yes" if row["active"] else "",
         "handlers": ", ".join(f["name"] for f in (row.get("handlers") or {}).get("functions", []))}
        for row in rows
    ]  # fmt: skip
    columns = [("number", "Version"), ("running", "Running"), ("handlers", "Functions"), ("created_at", "Deployed"),
               ("created_by", "By"), ("note", "Note")]  # fmt: skip
    emit(rows, lambda: table(view, columns) if rows else console.print("No versions yet: `hangar functions deploy`."))


@functions.command("activate")
@click.argument("number", type=click.IntRange(min=1))
@APP_OPTION
@json_option
def functions_activate(number: int, app_name: str | None) -> None:
    """Run version NUMBER (activating an earlier one is the rollback)."""
    api = api_from_config()
    rows = api.post(app_path(app_resolve(api, app_name), f"cloud-code/versions/{number}/activate"))
    emit(rows, lambda: console.print(f"Version {number} is running now."))


@click.command()
@APP_OPTION
@click.option("-f", "--follow", is_flag=True, help="Keep printing new records (Ctrl-C stops).")
@click.option("--errors-only", is_flag=True, help="Failed invocations only.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 1000))
@click.option("--interval", default=1.0, show_default=True, type=click.FloatRange(0.2, 60), hidden=True)
@click.option("--max-polls", default=0, type=int, hidden=True, help="Stop following after this many polls.")
@json_option
def logs(app_name: str | None, follow: bool, errors_only: bool, limit: int, interval: float, max_polls: int) -> None:
    """Cloud-code invocation records, oldest first; --follow tails them."""
    api = api_from_config()
    path = app_path(app_resolve(api, app_name), "cloud-code/logs")
    params: dict[str, str | int | float] = {"limit": limit}
    if errors_only:
        params["level"] = "error"
    polls = 0
    while True:
        page = api.get(path, params=params)
        for record in reversed(page["results"]):
            _print_record(record)
        polls += 1
        if not follow or (max_polls and polls >= max_polls):
            return
        if page.get("cursor") is not None:
            params["since"] = page["cursor"]
        time.sleep(interval)


def _print_record(record: dict[str, Any]) -> None:
    if json_wanted():
        click.echo(json.dumps(record, default=str))
        return
    at = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(record.get("at") or 0)))
    outcome = record.get("outcome", "")
    error = f" {record.get('code')}: {record.get('error')}" if record.get("error") else ""
    console.print(f"{at} {record.get('kind', '')} {record.get('name', '')} {outcome} {record.get('ms', '')} ms{error}")
    for line in record.get("lines") or []:
        text = line.get("message", line) if isinstance(line, dict) else line
        console.print(f"    {text}")
