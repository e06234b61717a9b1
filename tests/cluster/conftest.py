"""A two-node Hangar deployment on loopback, started from deploy/'s own files.

PgBouncer renders deploy/pgbouncer.ini.in (transaction pooling) in front of the test
database; each node runs the ExecStart of deploy/systemd/hangar-web.service; HAProxy runs
deploy/haproxy.cfg in front of both. Every process is the tests' own, in a session of its
own, on a free loopback port, and is stopped by its pid.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from django.conf import settings

from tests.conftest import REPO_DIR, _free_port
from tests.faults.conftest import _account_exists, _wait_for_port

DEPLOY_DIR = REPO_DIR / "deploy"
START_WITHIN = 40.0  # seconds a node may take to answer its health check (two cores, shared)


def unit_command(unit: str) -> tuple[list[str], dict[str, str]]:
    """A systemd unit's ExecStart and Environment=, with /opt/hangar (its install path) made this checkout."""
    command: list[str] = []
    environment: dict[str, str] = {}
    for line in (DEPLOY_DIR / "systemd" / unit).read_text().splitlines():
        line = line.replace("/opt/hangar/.venv/bin/python", sys.executable).replace("/opt/hangar", str(REPO_DIR))
        if line.startswith("ExecStart="):
            command = shlex.split(line.removeprefix("ExecStart="))
        elif line.startswith("Environment="):
            name, _, value = line.removeprefix("Environment=").partition("=")
            environment[name] = value
    assert command, f"{unit} has no ExecStart"
    return command, environment


def _owned_by_unprivileged(path: Path) -> str | None:
    """PgBouncer refuses to run as root: under root it runs as postgres (or nobody), owning its directory."""
    if os.geteuid() != 0:
        return None
    user = "postgres" if _account_exists("postgres") else "nobody"
    shutil.chown(path, user=user)
    return user


@dataclass
class Node:
    name: str
    port: int
    environment: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/parse"

    def start(self) -> None:
        command, unit_environment = unit_command("hangar-web.service")
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, env={**self.environment, **unit_environment}, cwd=REPO_DIR,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip

    def wait_healthy(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + START_WITHIN
        while True:
            try:
                if httpx.get(f"{self.url}/parse/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    f"{self.name} did not start; {self.log_path}:\n{self.log_path.read_text()[-3000:]}"
                )
            time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL, as a machine that dies: no shutdown, no goodbye to its clients."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None


@dataclass
class Cluster:
    nodes: list[Node]
    balancer_port: int
    pgbouncer_port: int
    directory: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.balancer_port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.balancer_port}/parse"

    def wait_balanced(self, *, up: int) -> None:
        """Wait until HAProxy's health checks count ``up`` nodes in service (its stats, as CSV)."""
        deadline = time.monotonic() + START_WITHIN
        while True:
            states = self.server_states()
            if sum(state == "UP" for state in states.values()) == up:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"HAProxy sees {states}, wanted {up} up")
            time.sleep(0.1)

    def server_states(self) -> dict[str, str]:
        chunks = []
        with socket.socket(socket.AF_UNIX) as admin:
            admin.settimeout(5)
            admin.connect(str(self.directory / "haproxy.sock"))
            admin.sendall(b"show stat\n")
            while chunk := admin.recv(65536):
                chunks.append(chunk)
        states = {}
        for line in b"".join(chunks).decode().splitlines():
            columns = line.split(",")
            if len(columns) > 17 and columns[0] == "hangar_nodes" and columns[1].startswith("node"):
                states[columns[1]] = columns[17].split(" ")[0]
        return states


def _pgbouncer(directory: Path) -> tuple[subprocess.Popen[bytes], int]:
    db = settings.DATABASES["default"]
    port = _free_port()
    user = str(db.get("USER") or "postgres")
    (directory / "users.txt").write_text(f'"{user}" "{db.get("PASSWORD") or ""}"\n')
    environment = {
        **os.environ,
        "PG_HOST": str(db.get("HOST") or "127.0.0.1"), "PG_PORT": str(db.get("PORT") or 5432),
        "PG_DATABASE": str(db["NAME"]), "HANGAR_STATEMENT_TIMEOUT_MS": str(settings.HANGAR_STATEMENT_TIMEOUT_MS),
        "PGBOUNCER_LISTEN_ADDR": "127.0.0.1", "PGBOUNCER_LISTEN_PORT": str(port),
        "PGBOUNCER_AUTH_TYPE": "trust", "PGBOUNCER_AUTH_FILE": str(directory / "users.txt"),
        "PGBOUNCER_POOL_SIZE": "10",
        "PGBOUNCER_LOG_FILE": str(directory / "pgbouncer.log"), "PGBOUNCER_PID_FILE": str(directory / "pgbouncer.pid"),
    }  # fmt: skip
    ini = directory / "pgbouncer.ini"
    subprocess.run(
        [sys.executable, str(DEPLOY_DIR / "render_config.py"), str(DEPLOY_DIR / "pgbouncer.ini.in"), str(ini)],
        env=environment, check=True,
    )  # fmt: skip
    run_as = _owned_by_unprivileged(directory)
    for path in directory.iterdir():
        if run_as:
            shutil.chown(path, user=run_as)
    process = subprocess.Popen(
        [shutil.which("pgbouncer") or "/usr/sbin/pgbouncer", str(ini)], stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True, user=run_as,
    )  # fmt: skip
    _wait_for_port(port, process, "pgbouncer")
    return process, port


def _haproxy(directory: Path, nodes: list[Node]) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    environment = {
        **os.environ, "HANGAR_LB_BIND": f"127.0.0.1:{port}",
        "HANGAR_NODE1": f"127.0.0.1:{nodes[0].port}", "HANGAR_NODE2": f"127.0.0.1:{nodes[1].port}",
    }  # fmt: skip
    # The deployment's file as it is, plus an admin socket for the tests to read the servers' states.
    stats = directory / "haproxy-stats.cfg"
    stats.write_text(f"global\n    stats socket {directory / 'haproxy.sock'} mode 600 level admin\n")
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    with (directory / "haproxy.log").open("wb") as log:
        process = subprocess.Popen(
            [haproxy, "-db", "-f", str(DEPLOY_DIR / "haproxy.cfg"), "-f", str(stats)],
            env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    _wait_for_port(port, process, "haproxy")
    return process, port


def _stop(process: subprocess.Popen[bytes], stop_signal: signal.Signals = signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(stop_signal)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def cluster(django_db_setup: None, django_db_blocker: object) -> Iterator[Cluster]:
    for program in ("pgbouncer", "haproxy"):
        if shutil.which(program) is None and not Path(f"/usr/sbin/{program}").exists():
            pytest.fail(f"{program} is not installed: run `make cluster-tools` (make test does)")
    directory = Path(tempfile.mkdtemp(prefix="hangar-cluster-"))
    directory.chmod(0o755)
    started: list[subprocess.Popen[bytes]] = []
    nodes: list[Node] = []
    try:
        pgbouncer, pgbouncer_port = _pgbouncer(directory)
        started.append(pgbouncer)
        db = settings.DATABASES["default"]
        user = str(db.get("USER") or "postgres")
        password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
        through_pgbouncer = f"postgresql://{user}{password}@127.0.0.1:{pgbouncer_port}"
        for name in ("node1", "node2"):
            port = _free_port()
            environment = {
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "hangar.settings_test",
                "DATABASE_URL": f"{through_pgbouncer}/hangar",
                "HANGAR_DATA_PLANE_DATABASE_URL": f"{through_pgbouncer}/hangar_dataplane",
                "HANGAR_DB_TRANSACTION_POOLER": "true",
                "HOST": "127.0.0.1", "PORT": str(port), "WEB_CONCURRENCY": "1",
                "HANGAR_PUBLIC_URL": f"http://127.0.0.1:{port}",
            }  # fmt: skip
            nodes.append(Node(name=name, port=port, environment=environment, log_path=directory / f"{name}.log"))
        for node in nodes:
            node.start()
        for node in nodes:
            node.wait_healthy()
        haproxy, balancer_port = _haproxy(directory, nodes)
        started.append(haproxy)
        cluster = Cluster(nodes=nodes, balancer_port=balancer_port, pgbouncer_port=pgbouncer_port, directory=directory)
        cluster.processes = started
        cluster.wait_balanced(up=2)
        yield cluster
    finally:
        for node in nodes:
            node.stop()
        for process in reversed(started):
            _stop(process, signal.SIGINT if process is started[0] else signal.SIGTERM)  # SIGINT: PgBouncer's safe stop
        shutil.rmtree(directory, ignore_errors=True)
