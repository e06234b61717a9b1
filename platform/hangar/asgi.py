"""The ASGI entry point: /parse goes to the Parse gateway, WebSockets to LiveQuery, everything else to Django."""

from __future__ import annotations

import gc
import os
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hangar.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402

from hangar.after_response import after_response_wait  # noqa: E402
from hangar.analytics.buffer import events_flush  # noqa: E402
from hangar.builds.log_stream import PATH_PREFIX as BUILD_LOG_PATH  # noqa: E402
from hangar.builds.log_stream import build_log_application  # noqa: E402
from hangar.db_pool import close_pool  # noqa: E402
from hangar.gateway.asgi import ASGIReceive, ParseGateway  # noqa: E402
from hangar.gateway.responses import ASGISend  # noqa: E402
from hangar.observability import endpoints as observability  # noqa: E402
from hangar.read_replicas import close_replicas, replica_set  # noqa: E402
from hangar.realtime.asgi import live_query_application, live_query_shutdown  # noqa: E402
from hangar.redis_async import close_redis  # noqa: E402

django_application = get_asgi_application()
parse_gateway = ParseGateway(settings.HANGAR_PARSE_MOUNT)
_MOUNT = settings.HANGAR_PARSE_MOUNT.rstrip("/")


async def _lifespan(receive: ASGIReceive, send: ASGISend) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            replica_set()  # read replicas (if any) are checked from now on, not from the first read
            # Django, the routes and every module are loaded and live as long as the process: out of
            # the cyclic collector's sight, its full collections walk only what requests allocate
            # (they walked the whole startup heap: ~9% of a POST /events' CPU, measured with perf).
            gc.collect()
            gc.freeze()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await live_query_shutdown()
            await after_response_wait()  # after* triggers in flight, before the pool they write with closes
            await events_flush()  # the buffered analytics events, before the pool closes
            await close_replicas()
            await close_pool()
            await close_redis()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def application(scope: dict[str, Any], receive: ASGIReceive, send: ASGISend) -> None:
    kind = scope["type"]
    if kind == "http":
        path = scope["path"]
        if path == _MOUNT or path.startswith(_MOUNT + "/"):
            await parse_gateway(scope, receive, send)
            return
        if path in observability.PATHS:  # /metrics, /healthz, /readyz: never through Django's middleware
            await observability.serve(scope, receive, send)
            return
        await django_application(scope, receive, send)
    elif kind == "lifespan":
        await _lifespan(receive, send)
    elif kind == "websocket":
        if scope["path"].startswith(BUILD_LOG_PATH):  # a build's live log (docs/builds.md)
            await build_log_application(scope, receive, send)
            return
        # LiveQuery on any path, as Parse Server (the JS SDK uses the REST URL's: ws://host/parse).
        await live_query_application(scope, receive, send)
