"""Starting and stopping the two servers under test, each against a fresh database of its own.

Both are configured the same way where they can be: loopback only, one worker process
per core, a 10-connection PostgreSQL pool per process, warning-level logs, no rate
limits. bench/README.md explains each choice.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import string
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.paths import HANGAR_FILES_DIR, HANGAR_VAR_DIR, PARSE_FILES_DIR, PYTHON, REPO_DIR, log_path
from bench.processes import ServerProcess
from hangar.launcher import WEBSOCKET_ARGS, proxy_header_args

HOST = "127.0.0.1"
MOUNT = "/parse"
START_TIMEOUT_SECONDS = 90
# Parse Server keeps node-postgres' default pool of 10 connections per process; Hangar's
# data-plane pool gets the same ceiling.
POOL_SIZE = 10
# Parse's CLI prints this once per worker when that worker serves requests.
_PARSE_READY_LINE = "parse-server running on"

# Parse request headers per key kind (Parse REST guide, "Authentication").
# Who owns the bench app (and the apps the provisioning measurement creates beside it).
BENCH_ORGANIZATION = "bench"
BENCH_OWNER = "bench@localhost.localdomain"

KEY_HEADERS = {
    "master": "X-Parse-Master-Key",
    "rest": "X-Parse-REST-API-Key",
}


class ServerStartError(RuntimeError):
    """A server did not come up; the message ends with the tail of its log."""


@dataclass
class Target:
    """One running server as the workloads see it: where it is, its app and its keys."""

    kind: str  # "hangar" or "parse"
    base_url: str  # ends with the mount: http://127.0.0.1:PORT/parse
    application_id: str
    keys: Mapping[str, str]  # key kind ("master", "rest") -> value
    process: ServerProcess
    details: dict[str, Any] = field(default_factory=dict)  # configuration, for the report

    def key_headers(self, kind: str) -> dict[str, str]:
        """The Parse headers that present this app's key of ``kind`` ("none" sends no keys)."""
        if kind == "none":
            return {}
        return {"X-Parse-Application-Id": self.application_id, KEY_HEADERS[kind]: self.keys[kind]}

    def call(self, method: str, path: str, body: Any = None, *, keys: str = "master") -> Any:
        """Make one Parse REST call (for seeding hooks) and return its decoded JSON; raise on non-2xx."""
        response = httpx.request(
            method, f"{self.base_url}{path}", json=body, headers=self.key_headers(keys), timeout=30
        )
        response.raise_for_status()
        return response.json()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _random_key() -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(40))


def _healthy(health_url: str) -> bool:
    try:
        return httpx.get(health_url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _workers_settled(process: ServerProcess, workers: int) -> bool:
    """Whether all workers are up and none has been replaced for a second (a crash loop fails this)."""
    before = process.member_pids()
    time.sleep(1)
    return len(before) > workers and process.member_pids() == before


def _wait_until_ready(
    process: ServerProcess, health_url: str, workers: int, ready: Callable[[], bool] = lambda: True
) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline and process.alive():
        if _healthy(health_url) and ready() and _workers_settled(process, workers):
            return
        time.sleep(0.25)
    process.stop()
    raise ServerStartError(f"{process.name} did not become ready; {process.log_path}:\n{process.log_tail()}")


def hangar_environment(*, database_url: str, redis_url: str, port: int, root: Path = REPO_DIR) -> dict[str, str]:
    """The environment of every Hangar process of the run (server, migrate, app creation).

    ``root`` is the Hangar checkout served (this one by default; another work tree to
    measure it without copying it here: nothing is written into it, not even bytecode).
    """
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "hangar.settings",
        "PYTHONPATH": os.pathsep.join([str(root / "platform"), str(root)]),
        "PYTHONDONTWRITEBYTECODE": "1",
        "HANGAR_ENV": "development",  # generated secrets under HANGAR_VAR_DIR, no production checks
        "DEBUG": "false",
        "ALLOWED_HOSTS": "*",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "HANGAR_VAR_DIR": str(HANGAR_VAR_DIR),
        # The default plan is created with this limit: 0 is unlimited, so the benchmark is never throttled.
        "HANGAR_DEFAULT_PLAN_RPS": "0",
        # ... and holds any number of LiveQuery connections (live-fanout): Parse has no such limit.
        "HANGAR_DEFAULT_PLAN_LIVE_CONNECTIONS": "0",
        # Every subscriber of the benchmark connects from 127.0.0.1.
        "HANGAR_LIVEQUERY_CONNECTIONS_PER_ADDRESS": "0",
        "HANGAR_DB_POOL_MAX": str(POOL_SIZE),
        # No login or sign-up rate limits (0 disables them and their Redis check): Parse has none by default.
        "HANGAR_LOGIN_RATE_PER_IP": "0",
        "HANGAR_LOGIN_RATE_PER_USERNAME": "0",
        "HANGAR_SIGNUP_RATE_PER_IP": "0",
        # Every load comes from one address: keyless requests (file downloads by URL) are not limited
        # per address, and the default plan stores files without a quota, as Parse Server does.
        "HANGAR_ANONYMOUS_RPS_PER_ADDRESS": "0",
        "HANGAR_FILES_DEFAULT_QUOTA_BYTES": "0",
        "HANGAR_PUBLIC_URL": f"http://{HOST}:{port}",
        "LOG_LEVEL": "WARNING",
    }


# Parse Server's filesystem files adapter (a dependency of parse-server 9.10.0, no extra
# package): it writes to ./files/ below the working directory, PARSE_FILES_DIR.
PARSE_FILES_ADAPTER = "@parse/fs-files-adapter"


def clear_file_stores() -> None:
    """Empty both servers' file directories (the databases that knew the files are recreated every run)."""
    for directory in (HANGAR_FILES_DIR, PARSE_FILES_DIR):
        shutil.rmtree(directory, ignore_errors=True)
    PARSE_FILES_DIR.mkdir(parents=True, exist_ok=True)


def _manage(env: Mapping[str, str], *args: str, root: Path = REPO_DIR) -> str:
    completed = subprocess.run(
        [PYTHON, str(root / "manage.py"), *args], env=dict(env), cwd=root, capture_output=True, text=True
    )
    if completed.returncode != 0:
        raise ServerStartError(f"manage.py {' '.join(args)} failed:\n{completed.stdout}{completed.stderr}"[-4000:])
    return completed.stdout


def hangar_bench_app_create(env: Mapping[str, str], *, root: Path = REPO_DIR) -> dict[str, Any]:
    """Migrate Hangar's (fresh) database and create the bench app; ``manage.py app_create --json``'s answer."""
    _manage(env, "migrate", "--no-input", "-v", "0", root=root)
    return dict(
        json.loads(
            _manage(
                env, "app_create", "--org", BENCH_ORGANIZATION, "--owner", BENCH_OWNER, "--name", "bench", "--json",
                root=root,
            )
        )
    )  # fmt: skip


def _websocket_args(root: Path) -> list[str]:
    """WEBSOCKET_ARGS, without ``--ws`` for a checkout older than the protocol it names (``--hangar-root``)."""
    args = list(WEBSOCKET_ARGS)
    if "--ws" in args:
        index = args.index("--ws")
        module = args[index + 1].split(":")[0]
        if not (root / "platform" / (module.replace(".", "/") + ".py")).exists():
            del args[index : index + 2]  # uvicorn's default protocol, as that checkout was served
    return args


def start_hangar(
    *, database_url: str, redis_url: str, workers: int, root: Path = REPO_DIR, log_name: str = "hangar"
) -> Target:
    """Migrate the (fresh) database, create the bench app, and serve uvicorn with ``workers`` processes.

    ``root`` is the checkout served (see hangar_environment); its ``.venv`` is not used:
    every Hangar process runs on this checkout's interpreter.
    """
    port = _free_port()
    env = hangar_environment(database_url=database_url, redis_url=redis_url, port=port, root=root)
    created = hangar_bench_app_create(env, root=root)
    # The same command line as hangar.launcher's, with the worker count pinned.
    command = [
        PYTHON, "-m", "uvicorn", "hangar.asgi:application", "--app-dir", str(root / "platform"),
        "--host", HOST, "--port", str(port), "--workers", str(workers),
        "--no-server-header", "--no-access-log", "--log-level", "warning", *_websocket_args(root),
        *proxy_header_args(),
    ]  # fmt: skip
    process = ServerProcess("hangar", command, env=env, cwd=root, log_path=log_path(log_name))
    base_url = f"http://{HOST}:{port}{MOUNT}"
    _wait_until_ready(process, f"{base_url}/health", workers)
    return Target(
        kind="hangar", base_url=base_url, application_id=created["application_id"],
        keys={"master": created["keys"]["master"], "rest": created["keys"]["rest"]}, process=process,
        details={"workers": workers, "pool_size_per_process": POOL_SIZE, "command": command,
                 "database_url": database_url, "files_dir": str(HANGAR_FILES_DIR), "root": str(root),
                 "environment": {k: env[k] for k in ("DATABASE_URL", "REDIS_URL", "HANGAR_DEFAULT_PLAN_RPS",
                                                      "HANGAR_DB_POOL_MAX", "HANGAR_LOGIN_RATE_PER_IP",
                                                      "HANGAR_LOGIN_RATE_PER_USERNAME", "HANGAR_SIGNUP_RATE_PER_IP",
                                                      "HANGAR_ANONYMOUS_RPS_PER_ADDRESS",
                                                      "HANGAR_LIVEQUERY_CONNECTIONS_PER_ADDRESS",
                                                      "HANGAR_FILES_DEFAULT_QUOTA_BYTES", "DEBUG", "LOG_LEVEL")}},
    )  # fmt: skip


def _parse_workers_ready(process: ServerProcess, workers: int) -> Callable[[], bool]:
    return lambda: process.log_tail(1_000_000).count(_PARSE_READY_LINE) >= workers


def parse_live_query_flags(*, class_names: Sequence[str], redis_url: str) -> list[str]:
    """Parse Server's LiveQuery on the same port, its events carried between the cluster's workers by Redis.

    ``liveQuery`` makes every worker publish its writes of ``class_names``;
    ``liveQueryServerOptions`` starts a LiveQuery server in every worker, attached to
    that worker's HTTP server (WebSocket upgrades on any path, ws://host:port/parse
    included), subscribed to the same Redis channels. Without Redis each worker would
    only see the writes it served itself.
    """
    return [
        "--liveQuery", json.dumps({"classNames": list(class_names), "redisURL": redis_url}),
        "--liveQueryServerOptions", json.dumps({"redisURL": redis_url}),
    ]  # fmt: skip


def start_parse(
    *, cli: Path, database_url: str, workers: int, extra_flags: Sequence[str] = (), log_name: str = "parse"
) -> Target:
    """Serve Parse Server with its own CLI in cluster mode, one worker per core."""
    port = _free_port()
    app_id, master_key, rest_key = _random_key(), _random_key(), _random_key()
    command = [
        str(cli),
        "--appId", app_id, "--masterKey", master_key, "--restAPIKey", rest_key,
        "--databaseURI", database_url, "--port", str(port), "--host", HOST, "--mountPath", MOUNT,
        "--serverURL", f"http://{HOST}:{port}{MOUNT}",
        # Workers share schema changes through the database (DESIGN.md section 10).
        "--cluster", str(workers), "--databaseOptions", json.dumps({"enableSchemaHooks": True}),
        # The default already; spelled out because every master-key workload depends on it.
        "--masterKeyIps", "127.0.0.1,::1",
        "--logLevel", "warn", "--logsFolder", str(log_path(log_name).with_suffix("")),
        # Files on the local disk, like Hangar's local backend (the default GridFS needs MongoDB).
        "--filesAdapter", PARSE_FILES_ADAPTER,
        *extra_flags,
    ]  # fmt: skip
    env = {**os.environ, "NODE_ENV": "production"}
    PARSE_FILES_DIR.mkdir(parents=True, exist_ok=True)
    process = ServerProcess("parse", command, env=env, cwd=PARSE_FILES_DIR, log_path=log_path(log_name))
    base_url = f"http://{HOST}:{port}{MOUNT}"
    _wait_until_ready(process, f"{base_url}/health", workers, _parse_workers_ready(process, workers))
    return Target(
        kind="parse", base_url=base_url, application_id=app_id, keys={"master": master_key, "rest": rest_key},
        process=process,
        details={"workers": workers, "pool_size_per_process": POOL_SIZE, "command": _redacted(command),
                 "database_url": database_url, "files_dir": str(PARSE_FILES_DIR / "files")},
    )  # fmt: skip


def _redacted(command: list[str]) -> list[str]:
    """The command line without key values, for the report file."""
    secret_flags = {"--masterKey", "--restAPIKey"}
    return [("***" if i and command[i - 1] in secret_flags else arg) for i, arg in enumerate(command)]
