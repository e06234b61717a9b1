"""Every Parse route Hangar serves, by platform service."""

from __future__ import annotations

from hangar.gateway.handlers import health
from hangar.gateway.routing import Router


def build_router() -> Router:
    router = Router()
    router.add("GET", "/serverInfo", health.server_info)
    return router
