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
    return {
        "DATABASE_URL": _database_url(settings.DATABASES["default"]), "REDIS_URL": settings.REDIS_URL,
        # Apps a test creates in its own process have keys the served processes must decrypt.
        "HANGAR_ENCRYPTION_KEYS": ",".join(settings.HANGAR_ENCRYPTION_KEYS), "SECRET_KEY": settings.SECRET_KEY,
    }  # fmt: skip


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


def _readme_example() -> str:
    """The app_create command exactly as the README writes it (its first ``sh`` block that has one)."""
    readme = (REPO_DIR / "README.md").read_text()
    for block in re.findall(r"```sh\n(.*?)```", readme, flags=re.DOTALL):
        for line in block.splitlines():
            if "manage.py app_create" in line:
                return line.strip()
    raise AssertionError("the README shows no manage.py app_create example")


def _by_hand(command: str, var_dir: Path) -> subprocess.CompletedProcess[str]:
    """Run a shell command in the checkout as a developer would: no DATABASE_URL, REDIS_URL or settings module."""
    unset = {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "HANGAR_PUBLIC_URL", "PYTHONPATH", "PORT"}
    env = {**{k: v for k, v in os.environ.items() if k not in unset}, "HANGAR_VAR_DIR": str(var_dir)}
    # The README's line is a shell command (a variable assignment before the program): run it as one.
    return subprocess.run(command, shell=True, cwd=REPO_DIR, env=env, capture_output=True, text=True, timeout=120)  # noqa: S602


def _readme_example_creates_an_app(launch: Launch) -> dict[str, object]:
    """The README's example, run by hand beside `make run`, talks to the embedded servers."""
    result = _by_hand(_readme_example(), launch.var_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    created = json.loads(result.stdout)
    assert set(created) == {"app", "application_id", "keys", "server_url"}
    assert created["app"]["name"] == "Shop"
    assert created["app"]["organization"] == "Acme"
    assert {"master", "rest", "javascript", "client"} <= set(created["keys"])
    assert created["server_url"] == f"{launch.url}/parse"
    return created


def _commands_use_the_running_servers(launch: Launch) -> None:
    database_url = re.search(r"embedded database: (\S+)", launch.output())
    redis_url = re.search(r"embedded redis: (\S+)", launch.output())
    assert database_url, launch.output()
    assert redis_url, launch.output()
    show = "from django.conf import settings as s; print('USING', s.DATABASES['default']['HOST'], s.REDIS_URL)"
    shell = _by_hand(f'PYTHONPATH=platform:. .venv/bin/python manage.py shell -c "{show}"', launch.var_dir)
    assert shell.returncode == 0, shell.stderr[-3000:]
    using = next(line for line in shell.stdout.splitlines() if line.startswith("USING "))
    host, redis = using.split()[1:]
    assert host in database_url.group(1)
    assert redis == redis_url.group(1)
    dbshell = _by_hand(
        "PYTHONPATH=platform:. .venv/bin/python manage.py dbshell -- -tAc 'select current_database()'", launch.var_dir
    )
    assert dbshell.stdout.strip() == "hangar", dbshell.stderr[-2000:]
    migrate = _by_hand("PYTHONPATH=platform:. .venv/bin/python manage.py migrate --check", launch.var_dir)
    assert migrate.returncode == 0, migrate.stdout[-2000:] + migrate.stderr[-2000:]


def _launcher_commands_share_the_running_servers(launch: Launch) -> None:
    """A second `make run` on the same var/ refuses; `make migrate` uses the running servers, not rivals."""
    second = _by_hand(f"PYTHONPATH=platform:. {sys.executable} -m hangar.launcher run", launch.var_dir)
    assert second.returncode == 1
    assert "already running" in second.stderr
    migrate = _by_hand(f"PYTHONPATH=platform:. {sys.executable} -m hangar.launcher migrate", launch.var_dir)
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    assert "running database: " in migrate.stdout
    cache = "from django.core.cache import cache; cache.set('still', 'here'); print('CACHE', cache.get('still'))"
    after = _by_hand(f'PYTHONPATH=platform:. .venv/bin/python manage.py shell -c "{cache}"', launch.var_dir)
    assert "CACHE here" in after.stdout, "the running Redis still answers on its socket" + after.stderr[-2000:]


def test_embedded_postgres_and_redis_keep_their_data_and_stop_with_the_group(tmp_path):
    """No DATABASE_URL/REDIS_URL: the launcher runs its own servers under var/, twice, on the same data;
    meanwhile the README's example and other manage.py commands run by hand use those servers."""
    var_dir = tmp_path / "var"
    first = Launch({}, var_dir)
    try:
        first.wait_until_serving(timeout=180)
        _wait_for_worker_and_beat(first)
        created = _readme_example_creates_an_app(first)
        headers = {"X-Parse-Application-Id": created["application_id"], "X-Parse-Master-Key": created["keys"]["master"]}
        assert httpx.get(f"{first.url}/parse/serverInfo", headers=headers, timeout=5).status_code == 200
        _commands_use_the_running_servers(first)
        _launcher_commands_share_the_running_servers(first)
    finally:
        assert first.interrupt() == 0, first.output()[-3000:]
    assert _alive(_processes_using(var_dir)) == []
    stopped = _by_hand(_readme_example(), var_dir)
    assert stopped.returncode == 2, "with nothing serving, the command says what to do instead of failing"
    assert len(stopped.stderr.strip().splitlines()) == 1
    assert "make run" in stopped.stderr

    second = Launch({}, var_dir)
    try:
        second.wait_until_serving(timeout=180)
        response = httpx.get(f"{second.url}/parse/serverInfo", headers=headers, timeout=5)
        assert response.status_code == 200, "the app created in the first run is still there"
    finally:
        assert second.interrupt() == 0, second.output()[-3000:]
    assert _alive(_processes_using(var_dir)) == []
