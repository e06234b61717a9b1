"""Every Parse route Hangar serves, by platform service."""

from __future__ import annotations

from hangar.gateway.handlers import aggregate as aggregate_handlers
from hangar.gateway.handlers import batch, classes, health
from hangar.gateway.handlers import cloud_code as cloud_code_handlers
from hangar.gateway.handlers import config as config_handlers
from hangar.gateway.handlers import events as event_handlers
from hangar.gateway.handlers import files as file_handlers
from hangar.gateway.handlers import functions as function_handlers
from hangar.gateway.handlers import hooks as hook_handlers
from hangar.gateway.handlers import jobs as job_handlers
from hangar.gateway.handlers import openapi as openapi_handlers
from hangar.gateway.handlers import push as push_handlers
from hangar.gateway.handlers import schemas as schema_handlers
from hangar.gateway.handlers import users as user_handlers
from hangar.gateway.routing import Router


def build_router() -> Router:
    router = Router()
    router.add("GET", "/serverInfo", health.server_info)
    classes.register(router)
    aggregate_handlers.register(router)
    schema_handlers.register(router)
    config_handlers.register(router)
    file_handlers.register(router)
    user_handlers.register(router)
    function_handlers.register(router)
    hook_handlers.register(router)
    job_handlers.register(router)
    cloud_code_handlers.register(router)
    push_handlers.register(router)
    openapi_handlers.register(router)
    event_handlers.register(router)
    router.add("POST", "/batch", batch.make_batch_handler(router))
    return router
