"""Reads of ``_User`` rows the identity services need (by name, email, provider id, id)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

from hangar.datastore.partitions import object_partition


@dataclass(frozen=True)
class UserRow:
    object_id: str
    data: dict[str, Any]
    readers: list[str] | None
    created_at: datetime
    updated_at: datetime

    @property
    def username(self) -> str | None:
        return self.data.get("username")


_COLUMNS = "object_id, data, _rperm, created_at, updated_at"
# The providers with a unique index on their id (datastore migration 0011): every provider the
# app may accept (hangar.identity.oauth), as plain lowercase names safe to spell in SQL.
INDEXED_PROVIDERS = frozenset({"anonymous", "google", "apple", "facebook", "github", "oidc"})


async def _one(conn: AsyncConnection, app_pk: int, condition: str, params: list[Any], lock: bool) -> UserRow | None:
    sql = (
        f"SELECT {_COLUMNS} FROM {object_partition(app_pk)} "
        f"WHERE app_id = %s AND class_name = '_User' AND {condition} LIMIT 1"
    )
    if lock:
        # Locking reads go through the parent: the data plane may only read the partition directly.
        sql = sql.replace(object_partition(app_pk), "datastore_object") + " FOR UPDATE"
    cursor = await conn.execute(sql, [app_pk, *params])
    row = await cursor.fetchone()
    return UserRow(*row) if row else None


async def user_by_id(conn: AsyncConnection, app_pk: int, user_id: str, *, lock: bool = False) -> UserRow | None:
    return await _one(conn, app_pk, "object_id = %s", [user_id], lock)


async def user_by_login(
    conn: AsyncConnection, app_pk: int, *, username: str | None, email: str | None, lock: bool = False
) -> UserRow | None:
    """Parse's lookup (reference §10.3): username matches username or email; email by email; both must match."""
    if username and email:
        return await _one(
            conn, app_pk,
            "lower(data->>'username') = lower(%s) AND data->>'username' = %s AND lower(data->>'email') = lower(%s)",
            [username, username, email], lock,
        )  # fmt: skip
    if email:
        return await _one(conn, app_pk, "lower(data->>'email') = lower(%s)", [email], lock)
    found = await _one(
        conn, app_pk, "lower(data->>'username') = lower(%s) AND data->>'username' = %s", [username, username], lock
    )
    if found is None and username:
        found = await _one(conn, app_pk, "lower(data->>'email') = lower(%s)", [username], lock)
    return found


async def user_id_with(
    conn: AsyncConnection, app_pk: int, *, field: str, value: str, exclude_id: str | None = None
) -> str | None:
    """The id of a user whose ``username``/``email`` equals ``value`` case-insensitively."""
    assert field in {"username", "email"}
    cursor = await conn.execute(
        f"SELECT object_id FROM {object_partition(app_pk)} WHERE app_id = %s AND class_name = '_User' "
        f"AND lower(data->>'{field}') = lower(%s) AND object_id <> %s LIMIT 1",
        [app_pk, value, exclude_id or ""],
    )
    row = await cursor.fetchone()
    return row[0] if row else None


async def user_id_by_auth(conn: AsyncConnection, app_pk: int, provider: str, provider_id: str) -> str | None:
    # The provider's name is spelled out in the SQL so that the planner can use its unique index
    # (datastore migration 0011, one per accepted provider); any other name stays a parameter.
    if provider in INDEXED_PROVIDERS:
        path, params = f"data->'authData'->'{provider}'->>'id' = %s", [app_pk, provider_id]
    else:
        path, params = "data->'authData'->%s->>'id' = %s", [app_pk, provider, provider_id]
    cursor = await conn.execute(
        f"SELECT object_id FROM {object_partition(app_pk)} WHERE app_id = %s AND class_name = '_User' "
        f"AND {path} LIMIT 1",
        params,
    )
    row = await cursor.fetchone()
    return row[0] if row else None
