"""``hangar sdk generate``: an app's generated client SDK, downloaded from its management API (docs/sdks.md)."""

from __future__ import annotations

import re
from pathlib import Path

import click

from hangar_cli.client import api_from_config, app_path, app_resolve
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


@sdk.command()
@click.option("--lang", "language", type=click.Choice(LANGUAGES), required=True, help="The SDK's language.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True,
              help="Directory the package is written to.")  # fmt: skip
@APP_OPTION
@json_option
def generate(language: str, out: Path, app_name: str | None) -> None:
    """Write the app's SDK for LANG (a wheel, an npm tarball, a jar, or the OpenAPI document) into OUT."""
    api = api_from_config()
    app = app_resolve(api, app_name)
    overview = api.get(app_path(app, "sdks"))
    response = api.download(app_path(app, f"sdks/{language}"))
    out.mkdir(parents=True, exist_ok=True)
    target = out / _file_name(response.headers.get("Content-Disposition", ""), f"{app['name']}-{language}")
    target.write_bytes(response.content)
    result = {"language": language, "path": str(target), "bytes": len(response.content),
              "version": overview.get("version"), "schema_hash": overview.get("schema_hash")}  # fmt: skip
    emit(result, lambda: console.print(f"{language} SDK {result['version']} written to {target}"))
