"""Saved push audiences (``_Audience``): their wire form for ``/push_audiences`` and their live count.

An audience is an installation query saved under a name; segments on user fields are
queries through the installation's ``user`` pointer (``{"user": {"$inQuery": ...}}``).
The count runs the query as the app's master against ``_Installation`` now, so it moves
as devices register and unregister.
"""

from __future__ import annotations

from typing import Any

import orjson

from hangar.caller import Caller
from hangar.datastore import queries
from hangar.messaging.push_classes import AUDIENCE_CLASS, audience_query_of

INSTALLATION = "_Installation"


def audience_wire(obj: dict[str, Any]) -> dict[str, Any]:
    """Parse Server's AudiencesRouter answer: the stored ``query`` string given back parsed."""
    text = obj.get("query")
    if isinstance(text, str):
        try:
            return {**obj, "query": orjson.loads(text)}
        except orjson.JSONDecodeError:
            return obj
    return obj


def audience_body(body: dict[str, Any]) -> dict[str, Any]:
    """A write's body with an object ``query`` stored as Parse stores it: a JSON string."""
    if isinstance(body.get("query"), dict):
        return {**body, "query": orjson.dumps(body["query"]).decode()}
    return body


async def installation_count(*, app_pk: int, where: dict[str, Any]) -> int:
    """How many of the app's installations match ``where`` now."""
    found = await queries.object_find(
        caller=Caller(app_pk=app_pk, is_master=True), class_name=INSTALLATION,
        params={"where": where, "limit": 0, "count": 1}, files_base="",
    )  # fmt: skip
    return int(found.get("count") or 0)


async def audience_count(*, app_pk: int, audience_id: str) -> int:
    """How many of the app's installations the saved audience reaches now; ParseError 101 if it does not exist."""
    audience = await queries.object_get(
        caller=Caller(app_pk=app_pk, is_master=True), class_name=AUDIENCE_CLASS, object_id=audience_id,
        params={}, files_base="",
    )  # fmt: skip
    return await installation_count(app_pk=app_pk, where=audience_query_of(audience.get("query")))
