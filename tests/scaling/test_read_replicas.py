"""Read replicas against a real streaming replica: client reads go to it, writers read their writes,
and a replica that lags or is down is skipped.

The test makes its own primary (initdb) and a streaming replica of it (``pg_basebackup -R``) on
free loopback ports, migrates the primary, and serves Hangar from them with
``DATABASE_REPLICA_URLS``; all of it is removed at the end. (The machine's own PostgreSQL
accepts no replication connections, and is not the test's to reconfigure.)
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
import pytest

from tests.conftest import REPO_DIR, _free_port
from tests.faults.conftest import RedisProcess, ServerProcess, _account_exists

pytestmark = pytest.mark.slow
MAX_LAG = 2.0  # HANGAR_REPLICA_MAX_LAG_SECONDS of the served node


def server_bin_dir() -> Path:
    """The system's PostgreSQL server programs (the CI server's version), else the pgserver wheel's."""
    system = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_basebackup"))
    if system:
        return system[-1].parent
    from tests.faults.conftest import postgres_bin_dir

    return postgres_bin_dir()


class Postgres(ServerProcess):
    """A cluster of the test's own in ``data_dir``, made by initdb (a primary) or given (a replica)."""

    name = "postgres"

    def __init__(self, data_dir: Path, user: str | None) -> None:
        super().__init__()
        self.bin_dir = server_bin_dir()
        self.data_dir = data_dir
        self.user = user

    def initdb(self) -> None:
        subprocess.run(
            [str(self.bin_dir / "initdb"), "-D", str(self.data_dir), "-U", "postgres", "--auth=trust",
             "--encoding=UTF8", "--no-sync"],
            check=True, capture_output=True, user=self.user,
        )  # fmt: skip

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def command(self) -> list[str]:
        return [str(self.bin_dir / "postgres"), "-D", str(self.data_dir), "-p", str(self.port),
                "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.data_dir}",
                "-c", "fsync=off", "-c", "max_connections=40", "-c", "wal_keep_size=256MB"]  # fmt: skip

    def popen_options(self) -> dict[str, object]:
        return {"user": self.user} if self.user else {}

    def start(self) -> None:
        super().start()
        deadline = time.monotonic() + 30
        while True:
            try:
                psycopg.connect(self.url("postgres"), connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def sql(self, statement: str) -> Any:
        with psycopg.connect(self.url("postgres"), autocommit=True, connect_timeout=5) as conn:
            cursor = conn.execute(statement)
            row = cursor.fetchone() if cursor.description else None
            return row[0] if row else None

    def stop(self, stop_signal: signal.Signals = signal.SIGINT) -> None:  # PostgreSQL's fast shutdown
        super().stop(stop_signal)


@dataclass
class Deployment:
    primary: Postgres
    replica: Postgres
    url: str
    apps: list[dict[str, Any]]
    process: subprocess.Popen[bytes]

    def wait_replayed(self) -> None:
        """Until the replica has replayed everything the primary has written (and the node has seen it)."""
        target = self.primary.sql("SELECT pg_current_wal_lsn()::text")
        deadline = time.monotonic() + 20
        while self.replica.sql(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn") is not True:
            assert time.monotonic() < deadline, "the replica did not catch up"
            time.sleep(0.05)
        time.sleep(0.6)  # two of the node's replica checks (every 0.25 s)


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(REPO_DIR / "manage.py"), *args], env=env, cwd=REPO_DIR, capture_output=True, check=False
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    return done.stdout.decode()


@pytest.fixture(scope="module")
def deployment() -> Iterator[Deployment]:
    root = Path(tempfile.mkdtemp(prefix="hangar-replica-"))
    root.chmod(0o755)
    user = ("postgres" if _account_exists("postgres") else "nobody") if os.geteuid() == 0 else None
    primary_dir, replica_dir = root / "primary", root / "replica"
    for directory in (primary_dir, replica_dir):
        directory.mkdir(mode=0o700)
        if user:
            shutil.chown(directory, user=user)
    primary, replica, redis = Postgres(primary_dir, user), Postgres(replica_dir, user), RedisProcess()
    process: subprocess.Popen[bytes] | None = None
    log_path = root / "node.log"
    try:
        primary.initdb()
        primary.start()
        redis.start()
        primary.sql("CREATE DATABASE hangar")
        env = {
            **os.environ, "DJANGO_SETTINGS_MODULE": "hangar.settings_test", "DATABASE_URL": primary.url("hangar"),
            "REDIS_URL": redis.url, "PYTHONPATH": os.pathsep.join([str(REPO_DIR / "platform"), str(REPO_DIR)]),
        }  # fmt: skip
        _manage(env, "migrate", "--no-input", "-v", "0")
        apps = [
            json.loads(_manage(env, "app_create", "--org", "Replicas", "--name", name, "--json")) for name in ("a", "b")
        ]
        # The replica: a base backup of the running primary that follows it (-R: standby.signal + primary_conninfo).
        subprocess.run(
            [str(replica.bin_dir / "pg_basebackup"), "-D", str(replica_dir), "-h", "127.0.0.1", "-p", str(primary.port),
             "-U", "postgres", "-R", "-X", "stream", "-c", "fast"],
            check=True, capture_output=True, user=user,  # into the empty directory the replica's account owns
        )  # fmt: skip
        replica.start()
        port = _free_port()
        env.update({
            "DATABASE_REPLICA_URLS": replica.url("hangar"), "HANGAR_REPLICA_MAX_LAG_SECONDS": str(MAX_LAG),
            "HANGAR_READ_YOUR_WRITES_SECONDS": "60", "HOST": "127.0.0.1", "PORT": str(port), "WEB_CONCURRENCY": "1",
        })  # fmt: skip
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "hangar.launcher", "serve", "web"], env=env, cwd=REPO_DIR, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 40
        while True:
            try:
                if httpx.get(f"{url}/parse/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, log_path.read_text()[-3000:]
            time.sleep(0.2)
        yield Deployment(primary=primary, replica=replica, url=url, apps=apps, process=process)
    finally:
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        replica.stop()
        primary.stop()
        redis.stop()
        shutil.rmtree(root, ignore_errors=True)


def headers(app: dict[str, Any], *, master: bool = False, session: str | None = None) -> dict[str, str]:
    result = {"X-Parse-Application-Id": app["application_id"]}
    result["X-Parse-Master-Key" if master else "X-Parse-REST-API-Key"] = app["keys"]["master" if master else "rest"]
    if session:
        result["X-Parse-Session-Token"] = session
    return result


def call(deployment: Deployment, method: str, path: str, body: Any = None, *, app: int = 0, **options: Any) -> Any:
    response = httpx.request(
        method, f"{deployment.url}/parse{path}", content=None if body is None else orjson.dumps(body),
        headers=headers(deployment.apps[app], **options), timeout=10,
    )  # fmt: skip
    return response.status_code, response.json()


def ids(deployment: Deployment, **options: Any) -> set[str]:
    status, found = call(deployment, "GET", "/classes/Item", **options)
    assert status == 200, found
    return {row["objectId"] for row in found["results"]}


def test_client_reads_go_to_the_replica_and_a_writer_reads_its_own_writes(deployment: Deployment):
    assert call(deployment, "POST", "/classes/Item", {"n": 0}, master=True)[0] == 201
    status, user = call(deployment, "POST", "/users", {"username": "ada", "password": "pw-ada-1234"})
    assert status == 201, user
    session = user["sessionToken"]
    assert ids(deployment)  # a first anonymous find
    deployment.wait_replayed()
    deployment.replica.sql("SELECT pg_wal_replay_pause()")
    try:
        _, first = call(deployment, "POST", "/classes/Item", {"n": 1}, master=True)
        # An anonymous client's find is served by the paused replica: it does not see the new object yet...
        assert first["objectId"] not in ids(deployment)
        status, missing = call(deployment, "GET", f"/classes/Item/{first['objectId']}")
        assert (status, missing["code"]) == (404, 101)
        # ...the master key reads the primary...
        assert first["objectId"] in ids(deployment, master=True)
        # ...and a user who wrote reads its own write (the primary: the replica has not replayed it).
        status, own = call(deployment, "POST", "/classes/Item", {"n": 2}, session=session)
        assert status == 201, own
        assert own["objectId"] in ids(deployment, session=session)
        assert own["objectId"] not in ids(deployment)
        # Another app's keys see none of it, replica or not: to them the class does not exist.
        for path in ("/classes/Item", f"/classes/Item/{first['objectId']}"):
            status, refused = call(deployment, "GET", path, app=1)
            assert (status, refused["code"]) == (400, 119)
        # Past the lag bound, the stalled replica serves nobody: everyone reads the primary.
        time.sleep(MAX_LAG + 0.6)
        assert {first["objectId"], own["objectId"]} <= ids(deployment)
    finally:
        deployment.replica.sql("SELECT pg_wal_replay_resume()")
    deployment.wait_replayed()
    deployment.replica.sql("SELECT pg_wal_replay_pause()")
    try:  # caught up, the replica serves anonymous finds again (a write now is not seen there)
        _, later = call(deployment, "POST", "/classes/Item", {"n": 3}, master=True)
        assert later["objectId"] not in ids(deployment)
    finally:
        deployment.replica.sql("SELECT pg_wal_replay_resume()")


def test_a_replica_that_is_down_is_skipped(deployment: Deployment):
    _, created = call(deployment, "POST", "/classes/Item", {"n": 4}, master=True)
    deployment.wait_replayed()
    deployment.replica.stop()
    try:
        for _ in range(5):  # never a 503: the reads go to the primary
            assert created["objectId"] in ids(deployment)
        _, after = call(deployment, "POST", "/classes/Item", {"n": 5}, master=True)
        assert after["objectId"] in ids(deployment)
    finally:
        deployment.replica.start()
    deployment.wait_replayed()
    assert after["objectId"] in ids(deployment)
