"""``GET /openapi.json``: the app's OpenAPI 3.1 document (Hangar's own route, docs/sdks.md), with any key.

A master-key caller sees every class. Any other key sees the classes a client may reach at all
(a class whose permissions leave every operation to roles, users or the master key is left out)
without the fields its ``protectedFields`` hide from everyone: the document describes what that
key can use, and names nothing else.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from hangar.cloudcode.declared import declared_handlers
from hangar.datastore.clp import OPERATIONS
from hangar.datastore.schema_registry import ClassSchema, app_schemas
from hangar.gateway.auth import AuthContext
from hangar.gateway.request import ParseRequest
from hangar.gateway.responses import ParseResponse
from sdk_gen.openapi import openapi_document
from sdk_gen.spec import app_spec_build

_CLIENT_ENTITIES = ("*", "requiresAuthentication")


def _open_to_clients(schema: ClassSchema) -> bool:
    clp = schema.clp or {}
    if not clp:  # no CLP recorded: Parse's default, public
        return True
    return any(
        isinstance(clp.get(op), dict) and any(clp[op].get(entity) for entity in _CLIENT_ENTITIES) for op in OPERATIONS
    )


def _client_fields(schema: ClassSchema) -> dict[str, Any]:
    protected = (schema.clp or {}).get("protectedFields", {})
    hidden = set(protected.get("*", [])) if isinstance(protected, dict) else set()
    return {name: spec for name, spec in schema.fields.items() if name not in hidden}


async def document(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    schemas = await app_schemas(auth.caller.app_pk, auth.caller.schema_version)
    if auth.is_master:
        visible = {name: schema.fields for name, schema in schemas.classes.items()}
    else:
        visible = {name: _client_fields(schema) for name, schema in schemas.classes.items() if _open_to_clients(schema)}
    spec = app_spec_build(
        app_name=auth.app.name, application_id=auth.app.application_id, schemas=visible,
        handlers=await declared_handlers(caller=auth.caller),
    )  # fmt: skip
    server_url = f"{settings.HANGAR_PUBLIC_URL}{settings.HANGAR_PARSE_MOUNT}"
    return ParseResponse(openapi_document(spec, server_url=server_url, version=f"schema-{spec.schema_hash[:12]}"))


def register(router: Any) -> None:
    router.add("GET", "/openapi.json", document)
