"""The ``hangar`` CLI driven as a user runs it: a separate process against the live server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tenants.models import Membership
from tenants.services import access_token_create, developer_sign_up
from tests.conftest import PASSWORD, REPO_DIR, LiveServer, Tenant, make_tenant

CLI_DIR = REPO_DIR / "cli"


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@dataclass
class Cli:
    """One developer's terminal: their own config directory, logged in to the live server."""

    server: LiveServer
    config_dir: Path
    token: str

    def run(self, *args: str, input: str | None = None, timeout: float = 120) -> Result:
        env = {
            **os.environ, "PYTHONPATH": str(CLI_DIR), "HANGAR_CONFIG_DIR": str(self.config_dir),
            "HANGAR_NO_BROWSER": "1", "COLUMNS": "200", "NO_COLOR": "1",
        }  # fmt: skip
        env.pop("HANGAR_APP", None)
        done = subprocess.run(
            [sys.executable, "-m", "hangar_cli", *args], env=env, capture_output=True, text=True,
            input=input, timeout=timeout, check=False,
        )  # fmt: skip
        return Result(done.returncode, done.stdout, done.stderr)

    def ok(self, *args: str, **kwargs: Any) -> Result:
        result = self.run(*args, **kwargs)
        assert result.code == 0, f"hangar {' '.join(args)} exited {result.code}:\n{result.stdout}\n{result.stderr}"
        return result

    def login(self) -> Result:
        return self.ok("login", "--server", self.server.url, "--token", self.token)


def cli_for(server: LiveServer, tenant: Tenant, config_dir: Path) -> Cli:
    _, token = access_token_create(developer=tenant.developer, name="cli test")
    cli = Cli(server=server, config_dir=config_dir, token=token)
    cli.login()
    return cli


@pytest.fixture(scope="session", autouse=True)
def _backup_archives_removed() -> Iterator[None]:
    """The archives the live server wrote (settings_test's HANGAR_BACKUP_DIR) go with the session."""
    from django.conf import settings

    yield
    shutil.rmtree(settings.HANGAR_BACKUP_DIR, ignore_errors=True)


@pytest.fixture
def alice_cli(live_server: LiveServer, tenant_a: Tenant, tmp_path: Path) -> Cli:
    return cli_for(live_server, tenant_a, tmp_path / "alice")


@pytest.fixture
def bob_cli(live_server: LiveServer, tenant_b: Tenant, tmp_path: Path) -> Cli:
    return cli_for(live_server, tenant_b, tmp_path / "bob")


def member_cli(live_server: LiveServer, tenant: Tenant, tmp_path: Path, role: str) -> Cli:
    """A second member of the tenant's organization with ``role``."""
    developer = developer_sign_up(email=f"{role}-of-{tenant.developer.pk}@example.com", password=PASSWORD, name=role)
    Membership.objects.create(organization=tenant.organization, developer=developer, role=role)
    _, token = access_token_create(developer=developer, name="cli test")
    cli = Cli(server=live_server, config_dir=tmp_path / role, token=token)
    cli.login()
    return cli


def parse(server: LiveServer, tenant_keys: dict[str, str], method: str, path: str, *, master: bool = False,
          **kwargs: Any) -> httpx.Response:  # fmt: skip
    """A Parse REST call to the live server as the app's client (REST key) or its master."""
    headers = {"X-Parse-Application-Id": tenant_keys["application_id"]}
    headers["X-Parse-Master-Key" if master else "X-Parse-REST-API-Key"] = tenant_keys["master" if master else "rest"]
    headers.update(kwargs.pop("headers", {}))
    return httpx.request(method, f"{server.url}/parse{path}", headers=headers, timeout=30, **kwargs)


__all__ = ["Cli", "make_tenant"]
