"""Helpers for data API tests: Parse requests against an app, and users with sessions."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
from django.db import connection

from hangar.identity.sessions import session_token_hash
from tests.conftest import Tenant


@dataclass
class ParseApp:
    """Sends Parse REST requests to one app with a chosen key and optional session."""

    client: httpx.AsyncClient
    tenant: Tenant

    def headers(self, *, master: bool = False, session: str | None = None) -> dict[str, str]:
        headers = self.tenant.parse_headers("master" if master else "rest")
        if session:
            headers["X-Parse-Session-Token"] = session
        return headers

    async def request(
        self, method: str, path: str, body: Any = None, *, master: bool = False, session: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> httpx.Response:  # fmt: skip
        content = orjson.dumps(body) if body is not None else None
        query = {k: v if isinstance(v, str) else orjson.dumps(v).decode() for k, v in (params or {}).items()}
        return await self.client.request(
            method, f"/parse{path}", content=content, params=query, headers=self.headers(master=master, session=session)
        )


@pytest.fixture
def app_a(parse_client: httpx.AsyncClient, tenant_a: Tenant) -> ParseApp:
    return ParseApp(parse_client, tenant_a)


@pytest.fixture
def app_b(parse_client: httpx.AsyncClient, tenant_b: Tenant) -> ParseApp:
    return ParseApp(parse_client, tenant_b)


def insert_user_with_session(tenant: Tenant, username: str) -> tuple[str, str]:
    """A ``_User`` and a live ``_Session`` for it, written straight to the store; returns (user id, token)."""
    user_id = secrets.token_hex(5)
    session_id = secrets.token_hex(5)
    token = "r:" + secrets.token_hex(16)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO datastore_object (app_id, class_name, object_id, data, _rperm, _wperm) "
            "VALUES (%s, '_User', %s, %s, %s, %s)",
            [tenant.app.pk, user_id, orjson.dumps({"username": username}).decode(), ["*", user_id], [user_id]],
        )
        session = {
            "user": {"__type": "Pointer", "className": "_User", "objectId": user_id},
            "_session_token_hash": session_token_hash(token),
            "expiresAt": {"__type": "Date", "iso": "2099-01-01T00:00:00.000Z"},
        }
        cursor.execute(
            "INSERT INTO datastore_object (app_id, class_name, object_id, data, _rperm, _wperm) "
            "VALUES (%s, '_Session', %s, %s, %s, %s)",
            [tenant.app.pk, session_id, orjson.dumps(session).decode(), [user_id], [user_id]],
        )
    return user_id, token


async def set_clp(app: ParseApp, class_name: str, clp: dict[str, Any]) -> None:
    """Set a class's CLP directly in the registry and tell every process, as /schemas would."""
    from asgiref.sync import sync_to_async
    from psycopg.types.json import Jsonb

    from hangar.datastore.schema_registry import schema_changed

    def write() -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE datastore_schemaclass SET class_level_permissions = %s WHERE app_id = %s AND class_name = %s",
                [Jsonb(clp), app.tenant.app.pk, class_name],
            )

    await sync_to_async(write)()
    await schema_changed(app.tenant.app.pk)
