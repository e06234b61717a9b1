"""A build's log, live, over a WebSocket: ``/builds/log/<token>?after=<seq>`` (served beside LiveQuery).

Every line a build writes (hangar.builds.runner's journal, for the built-in agent and remote
ones alike) is kept in the database and published on the build's Redis channel. A socket
gets the lines after ``after`` from the database, then the published ones as they come, as
JSON text frames ``{"seq", "step", "text"}``, and a last ``{"state": ...}`` frame when the
build ends. The token names one build of one app (the dashboard signs it for a member who
may view builds); the socket ends with the build, or at the build's time limit at the latest.

Not a LiveQuery subscription, though served beside it in the same way: LiveQuery admits any
holder of the app's client key, and a build log is for the app's developers only.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs

import redis
import redis.asyncio as aioredis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core import signing

from hangar.builds.models import Build, BuildLogLine

logger = logging.getLogger(__name__)
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
PATH_PREFIX = "/builds/log/"
_SALT = "hangar.builds.log"
TOKEN_SECONDS = 600  # to open the socket; an open socket lasts until the build ends
STATE_CHECK_SECONDS = 1.0


def channel_of(uid: str) -> str:
    return f"hangar:builds:log:{uid}"


def log_token(build: Build) -> str:
    return signing.dumps({"b": build.uid, "a": build.app_id}, salt=_SALT, compress=True)


@lru_cache(maxsize=1)
def _publisher(url: str) -> redis.Redis:
    timeout = settings.HANGAR_REDIS_TIMEOUT_SECONDS
    return redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)


def line_publish(uid: str, seq: int, step: str, text: str) -> None:
    """Publish a kept line; a Redis outage costs the live view only (the line is in the database)."""
    try:
        _publisher(str(settings.REDIS_URL)).publish(
            channel_of(uid), json.dumps({"seq": seq, "step": step, "text": text})
        )
    except (redis.RedisError, OSError) as exc:
        logger.debug("build log line not published: %s", exc)


def _backlog(uid: str, app_id: int, after: int) -> tuple[list[dict[str, Any]], str | None, float]:
    """Lines after ``after``, the build's state, and the seconds it may still run (None: no such build)."""
    build = Build.objects.filter(uid=uid, app_id=app_id).only("pk", "state", "started_at", "timeout_seconds").first()
    if build is None:
        return [], None, 0.0
    rows = BuildLogLine.objects.filter(build=build, seq__gt=after).order_by("seq")[:5000]
    lines = [{"seq": row.seq, "step": row.step, "text": row.text} for row in rows]
    return lines, build.state, float(build.timeout_seconds + settings.HANGAR_BUILDS_LEASE_SECONDS)


async def build_log_application(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    try:
        data = signing.loads(scope["path"][len(PATH_PREFIX) :], salt=_SALT, max_age=TOKEN_SECONDS)
        uid, app_id = str(data["b"]), int(data["a"])
        after = int(parse_qs(scope.get("query_string", b"").decode()).get("after", ["0"])[0])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        await send({"type": "websocket.close", "code": 4403})
        return
    lines, state, lifetime = await sync_to_async(_backlog)(uid, app_id, after)
    if state is None:
        await send({"type": "websocket.close", "code": 4404})
        return
    await send({"type": "websocket.accept"})
    subscriber = aioredis.Redis.from_url(str(settings.REDIS_URL), socket_connect_timeout=2.0)
    pubsub = subscriber.pubsub()
    try:
        await pubsub.subscribe(channel_of(uid))
        # Read the backlog again now that the subscription is live: nothing falls between the two.
        lines, state, _ = await sync_to_async(_backlog)(uid, app_id, after)
        await _stream(uid, app_id, lines, state, pubsub, receive, send, deadline=time.monotonic() + lifetime)
    finally:
        await pubsub.aclose()
        await subscriber.aclose()


async def _stream(
    uid: str, app_id: int, lines: list[dict[str, Any]], state: str | None, pubsub: Any, receive: Receive, send: Send,
    *, deadline: float,
) -> None:  # fmt: skip
    last = 0
    for line in lines:
        await send({"type": "websocket.send", "text": json.dumps(line)})
        last = line["seq"]
    closed = asyncio.ensure_future(receive())
    next_check = time.monotonic() + STATE_CHECK_SECONDS
    try:
        while state not in Build.FINAL_STATES and time.monotonic() < deadline and not closed.done():
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5)
            if message is not None:
                line = json.loads(message["data"])
                if line["seq"] > last:
                    await send({"type": "websocket.send", "text": json.dumps(line)})
                    last = line["seq"]
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + STATE_CHECK_SECONDS
                missed, state, _ = await sync_to_async(_backlog)(uid, app_id, last)
                for line in missed:  # published while Redis was away, or before the subscription
                    await send({"type": "websocket.send", "text": json.dumps(line)})
                    last = line["seq"]
        if closed.done():
            return
        await send({"type": "websocket.send", "text": json.dumps({"state": state})})
        await send({"type": "websocket.close", "code": 1000})
    finally:
        closed.cancel()
