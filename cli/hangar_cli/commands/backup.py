"""``hangar backup`` (create, list, download, restore) and ``hangar import parse``."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from hangar_cli.client import EXIT_REFUSED, EXIT_UNAVAILABLE, Api, CliError, api_from_config, app_path, app_resolve
from hangar_cli.commands.functions import upload_progress
from hangar_cli.output import APP_OPTION, console, emit, errors, json_option, json_wanted, table
from hangar_cli.parse_import import ImportSourceError, archive_build, files_collect
from hangar_cli.parse_sources import ParseJsonSource, ParsePostgresSource

POLL_SECONDS = 0.5


@click.group()
def backup() -> None:
    """Back an app up, download a backup, restore one into an app."""


def _wait(api: Api, org_id: int, backup: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Poll the backup until it is done or failed, with a progress bar of the objects written."""
    deadline = time.monotonic() + timeout
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=errors, disable=json_wanted()) as progress:
        task = progress.add_task("objects", total=backup["total_objects"] or None)
        while backup["status"] == "running":
            if time.monotonic() > deadline:
                raise CliError(f"backup {backup['id']} still running after {timeout:.0f}s; see `hangar backup list`")
            time.sleep(POLL_SECONDS)
            backup = api.get(f"organizations/{org_id}/backups/{backup['id']}")
            done = backup["counts"].get("objects", 0)
            progress.update(task, completed=done, total=max(done, backup["total_objects"]) or None)
        progress.update(task, completed=backup["counts"].get("objects", 0))
    return backup


def _download(api: Api, org_id: int, backup_id: str, output: Path) -> int:
    """Save the archive; a refused or broken download leaves no file behind."""
    written = 0
    partial = output.with_name(output.name + ".part")
    try:
        with upload_progress() as progress:
            task = progress.add_task("downloading", total=None)
            out = None
            for total, chunk in api.stream_download(f"organizations/{org_id}/backups/{backup_id}/archive"):
                if out is None:
                    out = os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb")
                out.write(chunk)
                written += len(chunk)
                progress.update(task, total=total, completed=written)
            if out is None:
                out = os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb")
            out.close()
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(output)  # mode 0600 from the start: the archive holds password hashes
    return written


@backup.command("create")
@APP_OPTION
@click.option(
    "--sessions", is_flag=True, help="Also back up sessions (logged-in users stay logged in after a restore)."
)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Also download the archive here.")
@click.option("--timeout", default=3600.0, show_default=True, help="Seconds to wait for the backup.")
@json_option
def backup_create(app_name: str | None, sessions: bool, output: Path | None, timeout: float) -> None:
    """Back the app up to the server's backup storage, showing progress; optionally download it."""
    api = api_from_config()
    app = app_resolve(api, app_name)
    started = api.post(app_path(app, "backups"), json={"include_sessions": sessions})
    finished = _wait(api, app["organization_id"], started, timeout)
    if finished["status"] != "done":
        raise CliError(f"backup {finished['id']} failed: {finished['error']}", EXIT_REFUSED)
    if output is not None:
        _download(api, app["organization_id"], finished["id"], output)

    def human() -> None:
        counts = finished["counts"]
        console.print(
            f"Backup {finished['id']} of {app['name']}: {counts.get('objects', 0)} objects, "
            f"{counts.get('relations', 0)} relations, {counts.get('files', 0)} files, "
            f"{counts.get('cloud_versions', 0)} cloud-code versions, {finished['size']} bytes"
            + (f"; saved to {output}" if output else "")
        )

    emit({**finished, "output": str(output) if output else None}, human)


@backup.command("list")
@APP_OPTION
@click.option("--org", "org_id", type=int, help="Every backup of this organization (also of deleted apps).")
@json_option
def backup_list(app_name: str | None, org_id: int | None) -> None:
    """Backups, newest first."""
    api = api_from_config()
    params = {}
    if org_id is None:
        app = app_resolve(api, app_name)
        org_id, params = app["organization_id"], {"app": app["application_id"]}
    rows = api.get(f"organizations/{org_id}/backups", params=params)
    columns = [("id", "Backup"), ("app_name", "App"), ("status", "Status"), ("created_at", "When"), ("size", "Bytes")]
    emit(rows, lambda: table(rows, columns) if rows else console.print("No backups."))


@backup.command("download")
@click.argument("backup_id")
@click.option("--org", "org_id", type=int, required=True, help="The backup's organization id.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@json_option
def backup_download(backup_id: str, org_id: int, output: Path) -> None:
    """Download a backup's archive (mode 0600: it holds password hashes)."""
    api = api_from_config()
    size = _download(api, org_id, backup_id, output)
    emit({"output": str(output), "size": size}, lambda: console.print(f"Saved {size} bytes to {output}"))


@backup.command("schedule")
@APP_OPTION
@click.option("--every", "every_hours", type=click.IntRange(1, 720), help="Hours between two backups.")
@click.option("--keep", type=click.IntRange(1, 100), default=7, show_default=True, help="Scheduled backups kept.")
@click.option("--sessions", is_flag=True, help="Also back up sessions.")
@click.option("--off", is_flag=True, help="Stop the scheduled backups (those made are kept).")
@json_option
def backup_schedule(app_name: str | None, every_hours: int | None, keep: int, sessions: bool, off: bool) -> None:
    """Show, set (--every N) or stop (--off) the app's scheduled backups; the first runs within a minute."""
    api = api_from_config()
    path = app_path(app_resolve(api, app_name), "backups/schedule")
    if off:
        api.request("DELETE", path)
        emit({"schedule": None}, lambda: console.print("Scheduled backups stopped."))
        return
    if every_hours is not None:
        schedule = api.request(
            "PUT", path, json={"every_hours": every_hours, "keep": keep, "include_sessions": sessions}
        )
    else:
        schedule = api.get(path)

    def human() -> None:
        if not schedule:
            console.print("No scheduled backups: `hangar backup schedule --every 24`.")
            return
        console.print(
            f"Every {schedule['every_hours']} h, the newest {schedule['keep']} kept"
            + (", sessions included" if schedule["include_sessions"] else "")
            + f"; next at {schedule['next_run_at']}"
        )

    emit({"schedule": schedule}, human)


@backup.command("delete")
@click.argument("backup_id")
@click.option("--org", "org_id", type=int, required=True, help="The backup's organization id.")
@json_option
def backup_delete(backup_id: str, org_id: int) -> None:
    """Delete a backup's archive from storage and its record."""
    api = api_from_config()
    api.request("DELETE", f"organizations/{org_id}/backups/{backup_id}")
    emit({"deleted": backup_id}, lambda: console.print(f"Deleted {backup_id}."))


def _target_app(api: Api, app_name: str | None, new_app: str | None, org_id: int | None) -> dict[str, Any]:
    if new_app:
        if org_id is None:
            orgs = api.get("organizations")
            if len(orgs) != 1:
                raise CliError("you belong to several organizations; choose one with --org", 2)
            org_id = orgs[0]["id"]
        created = api.post(f"organizations/{org_id}/apps", json={"name": new_app})
        progress_note = f"Created app {created['name']} (application id {created['application_id']})"
        if not json_wanted():
            errors.print(progress_note)
        return created
    return app_resolve(api, app_name)


@backup.command("restore")
@click.argument("source")
@APP_OPTION
@click.option("--new-app", help="Create an app with this name and restore into it.")
@click.option("--org", "org_id", type=int, help="Organization of --new-app.")
@click.option("--yes", is_flag=True, help="Replace an existing app's content without asking.")
@click.option(
    "--wait/--no-wait", default=True, show_default=True,
    help="Wait for the restore to end (else print its id: `hangar backup restore-status`).",
)  # fmt: skip
@click.option("--timeout", default=6 * 3600.0, show_default=True, help="Seconds to wait for the restore.")
@json_option
def backup_restore(
    source: str, app_name: str | None, new_app: str | None, org_id: int | None, yes: bool, wait: bool,
    timeout: float,
) -> None:  # fmt: skip
    """Restore SOURCE (a backup id such as bk_..., or an archive file) into --app or a --new-app.

    The restore runs on the server as a job; the app stays readable and refuses writes until it ends.
    """
    api = api_from_config()
    if not new_app and not yes:
        click.confirm(f"Replace everything app {app_name!r} holds with {source}?", abort=True, err=True)
    app = _target_app(api, app_name, new_app, org_id)
    path = Path(source)
    with _removed_on_failure(api, app, created=bool(new_app)):
        if path.is_file():
            restore = _upload_restore(api, app, path)
        else:
            restore = api.post(app_path(app, "restore"), json={"backup_id": source})
        if wait:
            restore = restore_wait(api, app["organization_id"], restore, timeout)
    _restore_emit(restore, app)


@backup.command("restore-status")
@click.argument("restore_id")
@click.option("--org", "org_id", type=int, required=True, help="The organization of the app restored into.")
@click.option("--wait", is_flag=True, help="Wait for the restore to end.")
@click.option("--timeout", default=6 * 3600.0, show_default=True, help="Seconds to wait for the restore.")
@json_option
def backup_restore_status(restore_id: str, org_id: int, wait: bool, timeout: float) -> None:
    """Show a restore's status (queued, running, done or failed); --wait until it ends."""
    api = api_from_config()
    restore = api.get(f"organizations/{org_id}/restores/{restore_id}")
    if wait:
        restore = restore_wait(api, org_id, restore, timeout)
    emit(restore, lambda: console.print(f"Restore {restore['id']}: {restore['status']} {restore['error']}".rstrip()))


def restore_wait(api: Api, org_id: int, restore: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Poll the restore until it ends; a failed one is an error (exit 1) with the server's reason."""
    deadline = time.monotonic() + timeout
    with console.status(f"restoring ({restore['status']})", spinner="dots") if not json_wanted() else _Quiet():
        while restore["status"] in {"queued", "running"}:
            if time.monotonic() > deadline:
                raise CliError(
                    f"restore {restore['id']} still {restore['status']} after {timeout:.0f}s; "
                    f"see `hangar backup restore-status {restore['id']} --org {org_id}`",
                    EXIT_UNAVAILABLE,
                )
            time.sleep(POLL_SECONDS)
            restore = api.get(f"organizations/{org_id}/restores/{restore['id']}")
    if restore["status"] != "done":
        raise CliError(f"restore {restore['id']} failed: {restore['error']}", EXIT_REFUSED)
    return restore


def _restore_emit(restore: dict[str, Any], app: dict[str, Any]) -> None:
    def human() -> None:
        if restore["status"] != "done":
            console.print(f"Restore {restore['id']} into {app['name']} is {restore['status']}.")
            return
        counts = restore["counts"]
        console.print(
            f"Restored into {app['name']} ({app['application_id']}): {counts.get('objects', 0)} objects, "
            f"{counts.get('relations', 0)} relations, {counts.get('files', 0)} files, "
            f"{counts.get('cloud_versions', 0)} cloud-code versions, {counts.get('cloud_variables', 0)} variables"
        )
        for name in restore["failed_indexes"]:
            console.print(f"  index not built: {name}")
        for name in restore["skipped_variables"]:
            console.print(f"  variable {name} not restored: sealed with another deployment's key")

    emit({**restore, "app": app}, human)


@contextmanager
def _removed_on_failure(api: Api, app: dict[str, Any], *, created: bool) -> Iterator[None]:
    """A restore into an app this command created: if it fails, the empty app is deleted again."""
    try:
        yield
    except CliError:
        if created:
            try:
                api.request("DELETE", app_path(app), params={"confirm_name": app["name"]})
            except CliError as exc:
                errors.print(f"the new app {app['name']} could not be deleted: {exc.message}")
            else:
                errors.print(f"the new app {app['name']} was deleted again")
        raise


class _Quiet:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *args: object) -> None:
        return None


def _upload_restore(api: Api, app: dict[str, Any], path: Path) -> Any:
    boundary = "hangar-cli-archive"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="archive"; filename="{path.name}"\r\n'
        "Content-Type: application/x-tar\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    size = len(head) + path.stat().st_size + len(tail)

    def body(progress: Progress, task: Any) -> Any:
        yield head
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                progress.update(task, advance=len(chunk))
                yield chunk
        yield tail

    with upload_progress() as progress:
        task = progress.add_task("uploading", total=path.stat().st_size)
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}", "Content-Length": str(size)}
        return api.post(app_path(app, "restore"), content=body(progress, task), headers=headers)


@click.group("import")
def import_group() -> None:
    """Bring data from elsewhere into a Hangar app."""


@import_group.command("parse")
@click.option("--database-url", help="The PostgreSQL database Parse Server's Postgres adapter wrote (read only).")
@click.option("--json-dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Or a directory of Parse JSON exports (<Class>.json).")  # fmt: skip
@click.option("--files-dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Parse's files directory (FSFilesAdapter's files/), to bring the files' bytes along.")  # fmt: skip
@APP_OPTION
@click.option("--new-app", help="Create an app with this name and import into it.")
@click.option("--org", "org_id", type=int, help="Organization of --new-app.")
@click.option("--keep-archive", type=click.Path(dir_okay=False, path_type=Path), help="Also keep the archive here.")
@click.option("--yes", is_flag=True, help="Replace an existing app's content without asking.")
@click.option(
    "--sessions/--no-sessions", default=True, show_default=True,
    help="Bring Parse's sessions along, so that logged-in users stay logged in.",
)  # fmt: skip
@json_option
def import_parse(
    database_url: str | None, json_dir: Path | None, files_dir: Path | None, app_name: str | None,
    new_app: str | None, org_id: int | None, keep_archive: Path | None, yes: bool, sessions: bool,
) -> None:  # fmt: skip
    """Import a Parse Server app (its Postgres database or JSON exports) into --app or a --new-app.

    Users keep their passwords (Parse's bcrypt hashes log in as they are) and, with their sessions,
    stay logged in; push and job statuses come along.
    """
    if (database_url is None) == (json_dir is None):
        raise CliError("give either --database-url or --json-dir", 2)
    if not new_app and not yes:
        click.confirm(f"Replace everything app {app_name!r} holds with the Parse app?", abort=True, err=True)
    source: ParsePostgresSource | ParseJsonSource
    try:
        source = (
            ParsePostgresSource(database_url, sessions=sessions)
            if database_url
            else ParseJsonSource(json_dir, sessions=sessions)  # type: ignore[arg-type]
        )
        parse_app = source.app()
        referenced: set[str] = set()
        missing: list[str] = []
        with tempfile.TemporaryDirectory(prefix="hangar-import-") as scratch:
            archive = keep_archive or Path(scratch) / "parse-import.tar"
            with console.status("converting the Parse app", spinner="dots") if not json_wanted() else _Quiet():
                counts = archive_build(
                    parse_app, source.objects(parse_app, referenced), archive,
                    after_objects=lambda: missing.extend(files_collect(parse_app, referenced, files_dir)),
                )  # fmt: skip
            source.close()
            api = api_from_config()
            app = _target_app(api, app_name, new_app, org_id)
            with _removed_on_failure(api, app, created=bool(new_app)):
                result = restore_wait(api, app["organization_id"], _upload_restore(api, app, archive), 6 * 3600.0)
    except ImportSourceError as exc:
        raise CliError(str(exc)) from exc

    def human() -> None:
        console.print(
            f"Imported into {app['name']} ({app['application_id']}): {counts['objects']} objects in "
            f"{len(parse_app.classes)} classes, {counts['relations']} relations, {counts['files']} files"
        )
        for name, count in sorted(parse_app.counts.items()):
            console.print(f"  {name}: {count}")
        if missing:
            console.print(f"  {len(missing)} file(s) not found" + ("" if files_dir else " (no --files-dir)"))

    emit({**result, "app": app, "classes": parse_app.counts, "missing_files": missing}, human)
