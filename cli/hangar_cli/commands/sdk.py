"""``hangar sdk generate``: an app's generated client SDK, downloaded from its management API (docs/sdks.md)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import click
import httpx

from hangar_cli.client import EXIT_UNAVAILABLE, Api, CliError, api_from_config, app_path, app_resolve
from hangar_cli.output import APP_OPTION, console, emit, json_option

LANGUAGES = ("python", "typescript", "java", "openapi")


def _file_name(disposition: str, fallback: str) -> str:
    """The server's file name, reduced to a plain one (never a path)."""
    match = re.search(r'filename="([^"]+)"', disposition)
    name = Path(match.group(1)).name if match else fallback
    return re.sub(r"[^A-Za-z0-9._-]", "_", name) or fallback


@click.group()
def sdk() -> None:
    """Typed client SDKs generated from an app's own schema and cloud functions."""


def _download_when_built(api: Api, path: str, wait: float) -> httpx.Response:
    """The package, asking again while the server answers 202 (TypeScript and Java are compiled in the
    background after a schema change) for at most ``wait`` seconds."""
    deadline = time.monotonic() + wait
    response = api.download(path)
    while response.status_code == 202:
        if time.monotonic() >= deadline:
            raise CliError(f"the SDK is still being built after {wait:.0f}s; run the command again", EXIT_UNAVAILABLE)
        retry_after = float(response.headers.get("Retry-After") or 2)
        time.sleep(max(0.2, min(retry_after, 10.0, deadline - time.monotonic())))
        response = api.download(path)
    return response


@sdk.command()
@click.option("--lang", "language", type=click.Choice(LANGUAGES), required=True, help="The SDK's language.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True,
              help="Directory the package is written to.")  # fmt: skip
@click.option("--wait", type=click.FloatRange(min=0), default=300, show_default=True,
              help="Seconds to wait for a package the server is still compiling.")  # fmt: skip
@APP_OPTION
@json_option
def generate(language: str, out: Path, wait: float, app_name: str | None) -> None:
    """Write the app's SDK for LANG (a wheel, an npm tarball, a jar, or the OpenAPI document) into OUT."""
    api = api_from_config()
    app = app_resolve(api, app_name)
    overview = api.get(app_path(app, "sdks"))
    response = _download_when_built(api, app_path(app, f"sdks/{language}"), wait)
    out.mkdir(parents=True, exist_ok=True)
    target = out / _file_name(response.headers.get("Content-Disposition", ""), f"{app['name']}-{language}")
    target.write_bytes(response.content)
    result = {"language": language, "path": str(target), "bytes": len(response.content),
              "version": overview.get("version"), "schema_hash": overview.get("schema_hash")}  # fmt: skip
    emit(result, lambda: console.print(f"{language} SDK {result['version']} written to {target}"))
