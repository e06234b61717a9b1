"""`make run`'s launcher starts the whole group and Ctrl-C leaves nothing running."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from django.conf import settings

from tests.conftest import _database_url

REPO_DIR = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Launch:
    def __init__(self, env: dict[str, str], var_dir: Path) -> None:
        self.port = _free_port()
        self.var_dir = var_dir
        self.log = var_dir / f"launcher-{self.port}.log"
        var_dir.mkdir(parents=True, exist_ok=True)
        full_env = {
            **{k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}},
            "PYTHONPATH": f"{REPO_DIR / 'platform'}:{REPO_DIR}",
            "HANGAR_VAR_DIR": str(var_dir),
            "PORT": str(self.port),
            **env,
        }
        self.env = full_env
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "hangar.launcher", "run"], cwd=REPO_DIR, env=full_env,
                stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        self.url = f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_until_serving(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"launcher exited early:\n{self.output()[-4000:]}")
            try:
                if httpx.get(f"{self.url}/parse/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"launcher did not serve in time:\n{self.output()[-4000:]}")

    def descendants(self) -> list[psutil.Process]:
        return psutil.Process(self.process.pid).children(recursive=True)

    def interrupt(self) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=60)


def _command_lines(processes: list[psutil.Process]) -> str:
    lines = []
    for process in processes:
        try:
            lines.append(" ".join(process.cmdline()))
        except psutil.Error:
            continue
    return "\n".join(lines)


def _alive(processes: list[psutil.Process]) -> list[psutil.Process]:
    return [p for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def _processes_using(path: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if any(str(path) in part for part in process.info["cmdline"] or []):
            found.append(process)
    return found


def _wait_for_worker_and_beat(launch: Launch) -> list[psutil.Process]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        children = launch.descendants()
        commands = _command_lines(children)
        if "uvicorn" in commands and " worker" in commands and " beat" in commands:
            return children
        time.sleep(0.5)
    raise AssertionError(f"group incomplete:\n{_command_lines(launch.descendants())}\n{launch.output()[-3000:]}")


@pytest.fixture
def external_services_env() -> Iterator[dict[str, str]]:
    return {"DATABASE_URL": _database_url(settings.DATABASES["default"]), "REDIS_URL": settings.REDIS_URL}


def test_run_serves_and_ctrl_c_stops_the_whole_group(tmp_path, external_services_env):
    launch = Launch(external_services_env, tmp_path / "var")
    try:
        launch.wait_until_serving()
        children = _wait_for_worker_and_beat(launch)
        assert httpx.get(f"{launch.url}/api/v1/schema/", timeout=10).status_code == 200  # Django side
        assert "Parse API: " in launch.output()
    finally:
        code = launch.interrupt()
    assert code == 0, launch.output()[-3000:]
    assert _alive(children) == []
    assert "Hangar stopped." in launch.output()


def _create_app_with(launch_output: str, var_dir: Path) -> dict[str, object]:
    database_url = re.search(r"embedded database: (\S+)", launch_output)
    redis_url = re.search(r"embedded redis: (\S+)", launch_output)
    assert database_url, launch_output
    assert redis_url, launch_output
    env = {
        **os.environ, "PYTHONPATH": f"{REPO_DIR / 'platform'}:{REPO_DIR}", "HANGAR_VAR_DIR": str(var_dir),
        "DATABASE_URL": database_url.group(1), "REDIS_URL": redis_url.group(1),
        "DJANGO_SETTINGS_MODULE": "hangar.settings",
    }  # fmt: skip
    result = subprocess.run(
        [sys.executable, "manage.py", "app_create", "--org", "Laptop", "--name", "first", "--json"],
        cwd=REPO_DIR, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(result.stdout)


def test_embedded_postgres_and_redis_keep_their_data_and_stop_with_the_group(tmp_path):
    """No DATABASE_URL/REDIS_URL: the launcher runs its own servers under var/, twice, on the same data."""
    var_dir = tmp_path / "var"
    first = Launch({}, var_dir)
    try:
        first.wait_until_serving(timeout=180)
        _wait_for_worker_and_beat(first)
        created = _create_app_with(first.output(), var_dir)
        headers = {"X-Parse-Application-Id": created["application_id"], "X-Parse-Master-Key": created["keys"]["master"]}
        assert httpx.get(f"{first.url}/parse/serverInfo", headers=headers, timeout=5).status_code == 200
    finally:
        assert first.interrupt() == 0, first.output()[-3000:]
    assert _alive(_processes_using(var_dir)) == []

    second = Launch({}, var_dir)
    try:
        second.wait_until_serving(timeout=180)
        response = httpx.get(f"{second.url}/parse/serverInfo", headers=headers, timeout=5)
        assert response.status_code == 200, "the app created in the first run is still there"
    finally:
        assert second.interrupt() == 0, second.output()[-3000:]
    assert _alive(_processes_using(var_dir)) == []
