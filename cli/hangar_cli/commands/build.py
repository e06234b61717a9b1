"""``hangar build android|ios``: start a build of a saved profile, follow it, fetch the artifact (docs/builds.md)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click
import httpx
from rich.progress import Progress, SpinnerColumn, TextColumn

from hangar_cli.client import EXIT_REFUSED, EXIT_UNAVAILABLE, TIMEOUT, CliError, api_from_config, app_path, app_resolve
from hangar_cli.output import APP_OPTION, console, emit, errors, json_option, json_wanted

FINAL_STATES = ("succeeded", "failed", "cancelled", "timed_out")
POLL_SECONDS = 1.0


def _current_step(build: dict[str, Any]) -> str:
    running = [step["name"] for step in build.get("steps") or [] if step.get("state") == "running"]
    return running[-1] if running else ""


def _follow(api: Any, path: str, build: dict[str, Any], deadline: float) -> dict[str, Any]:
    """Poll the build until it ends (or the deadline passes), showing its state and running step."""
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=errors, disable=json_wanted()) as shown:
        task = shown.add_task(f"build {build['number']}: {build['state']}")
        while build["state"] not in FINAL_STATES:
            if time.monotonic() > deadline:
                raise CliError(f"build {build['number']} is still {build['state']}; follow it in the dashboard",
                               EXIT_UNAVAILABLE)  # fmt: skip
            time.sleep(POLL_SECONDS)
            build = api.get(path)
            step = _current_step(build)
            suffix = f" ({step})" if step else ""
            shown.update(task, description=f"build {build['number']}: {build['state']}{suffix}")
    return build


def _download(build: dict[str, Any], out: Path, app_name: str) -> Path:
    """The signed artifact, through its expiring link (no token needed)."""
    url = build.get("download_url")
    if not url:
        raise CliError(f"build {build['number']} has no artifact to download", EXIT_REFUSED)
    try:
        response = httpx.get(url, timeout=TIMEOUT)
    except httpx.TransportError as exc:
        raise CliError(f"cannot download the artifact: {exc}", EXIT_UNAVAILABLE) from exc
    if response.status_code != 200:
        raise CliError(f"the artifact link answered {response.status_code}", EXIT_REFUSED)
    out.mkdir(parents=True, exist_ok=True)
    # An Android build makes an APK or an App Bundle, as its profile said.
    android_format = str((build.get("spec") or {}).get("artifact_format") or "apk")
    suffix = f".{android_format}" if build.get("platform") == "android" else ".zip"
    target = out / f"{''.join(c if c.isalnum() or c in '-_' else '_' for c in app_name)}-{build['number']}{suffix}"
    target.write_bytes(response.content)
    return target


@click.command()
@click.argument("platform", type=click.Choice(["android", "ios"]))
@click.option("--profile", default="default", show_default=True, help="The saved build profile to build.")
@click.option("--wait", is_flag=True, help="Follow the build until it ends; exit non-zero unless it succeeded.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="With --wait: download the signed artifact into this directory.")  # fmt: skip
@click.option("--timeout", "timeout_seconds", type=float, default=1800, show_default=True,
              help="With --wait: give up following after this many seconds.")  # fmt: skip
@APP_OPTION
@json_option
def build(
    platform: str, profile: str, wait: bool, out: Path | None, timeout_seconds: float, app_name: str | None
) -> None:
    """Start a PLATFORM build of a saved profile (android here; ios needs a macOS build agent)."""
    api = api_from_config()
    app = app_resolve(api, app_name)
    started = api.post(app_path(app, "builds"), json={"profile": profile, "platform": platform})
    if not wait:
        emit(started, lambda: console.print(f"build {started['number']} {started['state']}"))
        return
    finished = _follow(api, app_path(app, f"builds/{started['number']}"), started, time.monotonic() + timeout_seconds)
    if finished["state"] != "succeeded":
        reason = finished.get("error_message") or finished["state"]
        raise CliError(f"build {finished['number']} {finished['state']}: {reason}", EXIT_REFUSED)
    artifact = _download(finished, out, app["name"]) if out is not None else None
    result = {**finished, "artifact_path": str(artifact) if artifact else None}

    def human() -> None:
        console.print(f"build {finished['number']} succeeded; signer SHA-256 {finished.get('signer_sha256')}")
        console.print(f"artifact: {artifact or finished.get('download_url')}")

    emit(result, human)
