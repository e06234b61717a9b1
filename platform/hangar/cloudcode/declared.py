"""What the app's active cloud code declared (functions with their typed parameters), read on the data plane.

The admitted caller carries the active version's id (hangar.caller.DeployedCode) but not the
parameter types, which only the app's OpenAPI document needs; they are read from the version row
(the data plane's column grant, migration 0002) when asked for.
"""

from __future__ import annotations

import json
from typing import Any

from hangar.caller import Caller
from hangar.datastore.connection import app_read

_HANDLERS_SQL = "SELECT handlers FROM cloudcode_cloudversion WHERE id = %s AND app_id = %s"


async def declared_handlers(*, caller: Caller) -> dict[str, Any]:
    """The active version's registered handlers (functions with ``params`` and ``returns``); {} without code."""
    code = caller.cloud_code
    if code is None:
        return {}
    row = await app_read(caller.app_pk, lambda conn: conn.fetch_one(_HANDLERS_SQL, [code.version_id, caller.app_pk]))
    if row is None:
        return {}
    handlers = json.loads(row[0]) if isinstance(row[0], str) else row[0]
    return handlers if isinstance(handlers, dict) else {}
