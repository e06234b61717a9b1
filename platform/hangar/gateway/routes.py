"""Every Parse route Hangar serves, by platform service."""

from __future__ import annotations

from hangar.gateway.handlers import batch, classes, health
from hangar.gateway.routing import Router


def build_router() -> Router:
    router = Router()
    router.add("GET", "/serverInfo", health.server_info)
    classes.register(router)
    router.add("POST", "/batch", batch.make_batch_handler(router))
    return router
