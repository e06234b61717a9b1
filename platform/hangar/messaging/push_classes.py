"""Class rules of push's system classes: ``_Audience`` and ``_PushStatus`` are the master key's alone.

Parse Server refuses every client operation on ``_PushStatus`` (SharedRest.js
``classesWithMasterOnlyAccess``) and serves ``_Audience`` only behind the master key
(``/push_audiences``): a campaign's query and payload, and an audience's segment, are the
developer's, not an end user's. An audience's ``query`` is stored as a JSON string, as Parse
stores it; it must be a JSON object, so that counting or sending to it never fails later.
"""

from __future__ import annotations

from typing import Any

import orjson

from hangar.caller import Caller
from hangar.datastore.class_rules import ClassRules, PreparedWrite, register_class_rules
from hangar.parse_errors import INVALID_JSON, OPERATION_FORBIDDEN, ParseError

AUDIENCE_CLASS = "_Audience"
PUSH_STATUS_CLASS = "_PushStatus"


class MasterOnlyClassRules(ClassRules):
    def __init__(self, class_name: str) -> None:
        self.class_name = class_name

    def client_access_check(self, *, operation: str, caller: Caller) -> None:
        raise ParseError(
            OPERATION_FORBIDDEN,
            f"Clients aren't allowed to perform the {operation} operation on the {self.class_name} collection.",
        )


def audience_query_of(text: Any) -> dict[str, Any]:
    """The installation query an audience's stored ``query`` string holds; 107 when it is not a JSON object."""
    try:
        query = orjson.loads(text) if isinstance(text, str) else None
    except orjson.JSONDecodeError:
        query = None
    if not isinstance(query, dict):
        raise ParseError(INVALID_JSON, "An audience's query must be a JSON object (as a string).")
    return query


class AudienceRules(MasterOnlyClassRules):
    async def before_create(self, *, caller: Caller, body: dict[str, Any], object_id: str) -> PreparedWrite | None:
        audience_query_of(body.get("query", "{}"))
        return None

    async def before_update(self, *, caller: Caller, object_id: str, body: dict[str, Any]) -> PreparedWrite | None:
        if "query" in body:
            audience_query_of(body["query"])
        return None


def register() -> None:
    register_class_rules(AUDIENCE_CLASS, AudienceRules(AUDIENCE_CLASS))
    register_class_rules(PUSH_STATUS_CLASS, MasterOnlyClassRules(PUSH_STATUS_CLASS))
