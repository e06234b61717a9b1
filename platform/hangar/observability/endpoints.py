"""``/metrics``, ``/healthz`` and ``/readyz``: lean ASGI answers served before Django (hangar.asgi).

* ``/healthz`` (liveness): the process's event loop answers; it checks nothing else, so a
  database outage never makes an orchestrator restart healthy web processes.
* ``/readyz`` (readiness): PostgreSQL (a ``SELECT 1`` on the data-plane pool) and Redis (a
  ``PING``) each answer within ``HANGAR_READINESS_TIMEOUT``; otherwise 503 with
  ``Retry-After``, naming which did not.
* ``/metrics`` (Prometheus text format): only with ``Authorization: Bearer
  <HANGAR_METRICS_TOKEN>``; with no token configured, only to a client on loopback that
  came through no proxy (no ``X-Forwarded-For``), so it is never public by accident.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import orjson
from django.conf import settings
from prometheus_client import CONTENT_TYPE_LATEST

from hangar.observability.metrics import celery_queue_lengths_read, metrics_text

ASGISend = Callable[[Mapping[str, Any]], Awaitable[None]]
READINESS_TIMEOUT = 2.0  # seconds each dependency has to answer
PATHS = frozenset({"/metrics", "/healthz", "/readyz"})


async def _respond(
    send: ASGISend, status: int, body: bytes, content_type: bytes, extra: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    headers = [(b"content-type", content_type), (b"cache-control", b"no-store"), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _json(send: ASGISend, status: int, body: dict[str, Any], extra: Sequence[tuple[bytes, bytes]] = ()) -> None:
    await _respond(send, status, orjson.dumps(body), b"application/json", extra)


def _scrape_allowed(scope: dict[str, Any]) -> bool:
    headers = dict(scope.get("headers") or [])
    token = settings.HANGAR_METRICS_TOKEN
    if token:
        presented = headers.get(b"authorization", b"").decode("latin-1")
        scheme, _, value = presented.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode())
    if b"x-forwarded-for" in headers or b"forwarded" in headers:
        return False
    client = scope.get("client") or ("", 0)
    try:
        return ipaddress.ip_address(client[0]).is_loopback
    except ValueError:
        return False


async def _check_postgres() -> None:
    from hangar.db_pool import get_pool

    pool = await get_pool()
    async with pool.connection() as conn:
        await conn.fetch_one("SELECT 1")


async def _check_redis() -> None:
    from hangar.redis_async import get_redis

    await get_redis().ping()


async def readiness() -> dict[str, str]:
    """``{"postgres": "ok" | "unavailable", "redis": ...}``, each check bounded by READINESS_TIMEOUT."""

    async def judged(check: Callable[[], Awaitable[None]]) -> str:
        try:
            async with asyncio.timeout(READINESS_TIMEOUT):
                await check()
        except Exception:
            return "unavailable"
        return "ok"

    postgres, redis = await asyncio.gather(judged(_check_postgres), judged(_check_redis))
    return {"postgres": postgres, "redis": redis}


async def serve(scope: dict[str, Any], receive: Callable[[], Awaitable[dict[str, Any]]], send: ASGISend) -> None:
    path, method = scope["path"], scope["method"]
    if method not in {"GET", "HEAD"}:
        await _json(send, 405, {"error": "method not allowed"}, [(b"allow", b"GET, HEAD")])
    elif path == "/healthz":
        await _json(send, 200, {"status": "alive"})
    elif path == "/readyz":
        started = time.monotonic()
        checks = await readiness()
        ready = all(state == "ok" for state in checks.values())
        body = {"status": "ready" if ready else "unavailable", "checks": checks,
                "seconds": round(time.monotonic() - started, 3)}  # fmt: skip
        await _json(send, 200 if ready else 503, body, [] if ready else [(b"retry-after", b"5")])
    elif not _scrape_allowed(scope):
        await _json(send, 403, {"error": "metrics need the HANGAR_METRICS_TOKEN bearer token"})
    else:
        await celery_queue_lengths_read()
        await _respond(send, 200, metrics_text(), CONTENT_TYPE_LATEST.encode())
