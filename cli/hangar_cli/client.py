"""The management API over HTTP: one client, and the server's errors as exceptions with exit codes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import click
import httpx

from hangar_cli.config import Credentials, credentials_load

# Exit codes (docs/cli.md): 0 done, 1 the server refused (its message is shown), 2 bad usage
# (click's own), 3 not logged in or the token was refused, 4 not found or not allowed,
# 5 the server is unreachable or failed, 6 `schema diff --exit-code` found changes.
EXIT_REFUSED = 1
EXIT_AUTH = 3
EXIT_NOT_FOUND = 4
EXIT_UNAVAILABLE = 5
EXIT_CHANGES = 6
TIMEOUT = httpx.Timeout(float(os.environ.get("HANGAR_CLI_TIMEOUT", "120")), connect=10.0)


class CliError(click.ClickException):
    """An error shown as ``Error: <message>`` with its own exit code."""

    def __init__(self, message: str, exit_code: int = EXIT_REFUSED) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]  # click declares it on the class; per error here


def _server_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}: {response.text[:200] or response.reason_phrase}"
    if isinstance(body, dict):
        detail = body.get("detail") or body.get("error") or body
        return str(detail)
    return str(body)


def raise_for(response: httpx.Response) -> None:
    if response.is_success:
        return
    message = _server_message(response)
    if response.status_code == 401:
        raise CliError(f"{message} Run `hangar login` with a valid token.", EXIT_AUTH)
    if response.status_code in {403, 404}:
        raise CliError(message, EXIT_NOT_FOUND)
    if response.status_code >= 500:
        retry = response.headers.get("Retry-After")
        raise CliError(
            f"the server failed ({message})" + (f"; retry after {retry}s" if retry else ""), EXIT_UNAVAILABLE
        )
    raise CliError(message, EXIT_REFUSED)


class Api:
    """Authenticated calls to ``<server>/api/v1/``."""

    def __init__(self, credentials: Credentials) -> None:
        self.credentials = credentials
        self.http = httpx.Client(
            base_url=credentials.server.rstrip("/") + "/api/v1/",
            headers={"Authorization": f"Bearer {credentials.token}", "User-Agent": "hangar-cli"},
            timeout=TIMEOUT,
        )

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise CliError(f"cannot reach {self.credentials.server}: {exc}", EXIT_UNAVAILABLE) from exc
        raise_for(response)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.request("POST", path, **kwargs)

    def download(self, path: str) -> httpx.Response:
        """A whole (small) download, with its headers (the file name the server gives)."""
        try:
            response = self.http.get(path)
        except httpx.TransportError as exc:
            raise CliError(f"cannot reach {self.credentials.server}: {exc}", EXIT_UNAVAILABLE) from exc
        raise_for(response)
        return response

    def stream_download(self, path: str) -> Iterator[tuple[int | None, bytes]]:
        """(total size if known, chunk) pairs of a download."""
        try:
            with self.http.stream("GET", path) as response:
                if not response.is_success:
                    response.read()
                    raise_for(response)
                total = int(response.headers["Content-Length"]) if "Content-Length" in response.headers else None
                for chunk in response.iter_bytes(1 << 16):
                    yield total, chunk
        except httpx.TransportError as exc:
            raise CliError(f"cannot reach {self.credentials.server}: {exc}", EXIT_UNAVAILABLE) from exc


def api_from_config() -> Api:
    credentials = credentials_load()
    if credentials is None:
        raise CliError("not logged in: run `hangar login --server URL` first", EXIT_AUTH)
    return Api(credentials)


def app_resolve(api: Api, wanted: str | None) -> dict[str, Any]:
    """The app named by its name, application id or numeric id, among the developer's organizations."""
    if not wanted:
        raise CliError("name the app with --app (or the HANGAR_APP environment variable)", 2)
    found = []
    for org in api.get("organizations"):
        for app in api.get(f"organizations/{org['id']}/apps"):
            if wanted in {app["name"], app["application_id"], str(app["id"])}:
                found.append(app)
    if not found:
        raise CliError(f"no app {wanted!r} in your organizations", EXIT_NOT_FOUND)
    if len(found) > 1:
        ids = ", ".join(app["application_id"] for app in found)
        raise CliError(f"{len(found)} apps are called {wanted!r}; use the application id ({ids})", EXIT_REFUSED)
    return found[0]


def app_path(app: dict[str, Any], tail: str = "") -> str:
    return f"organizations/{app['organization_id']}/apps/{app['id']}" + (f"/{tail}" if tail else "")
