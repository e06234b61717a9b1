"""Liveness and readiness of a Celery worker: ``/healthz`` and ``/readyz`` on a small HTTP port of its own.

A worker serves no HTTP, so with ``HANGAR_WORKER_HEALTH_PORT`` set its main process starts
this server once it is ready to take tasks (``worker_ready``) and stops it at shutdown.
``/healthz`` answers while the process runs; ``/readyz`` answers 200 only when PostgreSQL
and Redis each answer within two seconds (503 with ``Retry-After`` otherwise), as the web
processes' ``/readyz`` does. It binds ``HANGAR_WORKER_HEALTH_HOST`` (loopback by default).
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

log = logging.getLogger(__name__)
CHECK_TIMEOUT_SECONDS = 2
_server: ThreadingHTTPServer | None = None


def _postgres_ok() -> bool:
    import psycopg

    from hangar.db_pool import data_plane_conninfo  # the same server and credentials as the web processes

    try:
        with psycopg.connect(data_plane_conninfo(), connect_timeout=CHECK_TIMEOUT_SECONDS) as conn:
            conn.execute(f"SET statement_timeout = {CHECK_TIMEOUT_SECONDS * 1000}")
            conn.execute("SELECT 1")
    except Exception:
        return False
    return True


def _redis_ok() -> bool:
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(
        str(settings.REDIS_URL), socket_timeout=CHECK_TIMEOUT_SECONDS, socket_connect_timeout=CHECK_TIMEOUT_SECONDS
    )
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/healthz":
            self._answer(200, {"status": "alive"})
        elif self.path == "/readyz":
            checks = {"postgres": "ok" if _postgres_ok() else "unavailable",
                      "redis": "ok" if _redis_ok() else "unavailable"}  # fmt: skip
            ready = all(state == "ok" for state in checks.values())
            self._answer(200 if ready else 503, {"status": "ready" if ready else "unavailable", "checks": checks})
        else:
            self._answer(404, {"error": "not found"})

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        if status == 503:
            self.send_header("Retry-After", "5")
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("worker health: " + format, *args)


def worker_health_start(**_: Any) -> None:
    """Celery ``worker_ready``: serve the health endpoints when a port is configured."""
    global _server
    from django.conf import settings

    port = settings.HANGAR_WORKER_HEALTH_PORT
    if not port or _server is not None:
        return
    _server = ThreadingHTTPServer((settings.HANGAR_WORKER_HEALTH_HOST, port), _Handler)
    _server.daemon_threads = True
    threading.Thread(target=_server.serve_forever, name="worker-health", daemon=True).start()
    log.info("worker health endpoints on %s:%s", settings.HANGAR_WORKER_HEALTH_HOST, port)


def worker_health_stop(**_: Any) -> None:
    """Celery ``worker_shutdown``."""
    global _server
    if _server is not None:
        _server.shutdown()
        _server.server_close()
        _server = None


def worker_health_connect() -> None:
    from celery.signals import worker_ready, worker_shutdown

    worker_ready.connect(worker_health_start, weak=False)
    worker_shutdown.connect(worker_health_stop, weak=False)
