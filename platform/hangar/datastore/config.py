"""Parse Config (``/config``, reference §13.2): an app's parameters, some readable with the master key only.

One row per app in ``datastore_parseconfig`` (row-level security like the object
tables, migration 0005), read on every ``GET /config``: the SDKs fetch the config at
start-up, not per request, so a per-process cache would save little and add an
invalidation path. Values use the wire encodings of §5.3 and are stored normalized,
like object fields.
"""

from __future__ import annotations

from typing import Any

from psycopg.types.json import Jsonb

from hangar.caller import Caller
from hangar.datastore.connection import app_transaction
from hangar.datastore.values import encode_value
from hangar.datastore.wire import _with_file_url  # the one place file URLs are built
from hangar.parse_errors import INVALID_JSON, ParseError

_UPSERT_SQL = """
INSERT INTO datastore_parseconfig (app_id, params, master_key_only, updated_at) VALUES (%s, %s, %s, now())
ON CONFLICT (app_id) DO UPDATE SET
    params = (datastore_parseconfig.params || EXCLUDED.params) - %s::text[],
    master_key_only = (datastore_parseconfig.master_key_only || EXCLUDED.master_key_only) - %s::text[],
    updated_at = now()
"""


async def config_get(*, caller: Caller, files_base: str) -> dict[str, Any]:
    """The app's parameters; without the master key, master-only parameters (and their flags) are left out."""
    async with app_transaction(caller.app_pk) as conn:
        cursor = await conn.execute(
            "SELECT params, master_key_only FROM datastore_parseconfig WHERE app_id = %s", [caller.app_pk]
        )
        row = await cursor.fetchone()
    if row is None:
        return {"params": {}}
    params, flags = row
    if not caller.is_master:
        hidden = {name for name, master_only in flags.items() if master_only}
        params = {name: value for name, value in params.items() if name not in hidden}
        flags = {name: flag for name, flag in flags.items() if name not in hidden}
    return {
        "params": {name: _with_file_url(value, files_base) for name, value in params.items()},
        "masterKeyOnly": flags,
    }


def _object(body: dict[str, Any], key: str) -> dict[str, Any]:
    value = body.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ParseError(INVALID_JSON, f"{key} must be an object.")
    return value


async def config_update(*, caller: Caller, body: Any) -> dict[str, Any]:
    """Merge parameters key by key; ``{"__op": "Delete"}`` removes one.

    As in Parse Server, every parameter sent gets its master-only flag from
    ``masterKeyOnly`` (absent = false); flags for parameters not sent are ignored.
    """
    if not isinstance(body, dict):
        raise ParseError(INVALID_JSON, "invalid JSON")
    params, master_key_only = _object(body, "params"), _object(body, "masterKeyOnly")
    values: dict[str, Any] = {}
    flags: dict[str, bool] = {}
    deleted: list[str] = []
    for name, value in params.items():
        if not name:
            raise ParseError(INVALID_JSON, "Config parameter names cannot be empty.")
        if isinstance(value, dict) and value.get("__op") == "Delete":
            deleted.append(name)
            continue
        values[name] = encode_value(value)
        flags[name] = bool(master_key_only.get(name))
    async with app_transaction(caller.app_pk) as conn:
        await conn.execute(_UPSERT_SQL, [caller.app_pk, Jsonb(values), Jsonb(flags), deleted, deleted])
    return {"result": True}
