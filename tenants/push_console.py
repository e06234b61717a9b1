"""Reads of the dashboard's push console: saved audiences, the installation fields to build on, counts.

The caller (dashboard/access.py) has resolved the developer's access to the app; these
run on the app's data plane as its master, always for that one app. Campaigns are read
through the delivery engine's selectors (hangar.messaging.selectors), live counts through
tenants.push_audiences (the management API's).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from asgiref.sync import async_to_sync

from hangar.caller import Caller
from hangar.datastore import queries, schemas
from hangar.messaging.audiences import audience_wire
from hangar.messaging.push_classes import AUDIENCE_CLASS
from hangar.parse_errors import ParseError
from tenants.models import App

AUDIENCES_LISTED = 500
INSTALLATION = "_Installation"


@dataclass(frozen=True)
class AudienceRow:
    id: str
    name: str
    query: Any
    query_text: str
    times_used: int
    last_used: datetime | None


def _date(value: Any) -> datetime | None:
    iso = value.get("iso") if isinstance(value, dict) else None
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")) if isinstance(iso, str) else None
    except ValueError:
        return None


def _master(app: App) -> Caller:
    return Caller(app_pk=app.pk, is_master=True)


def push_audience_list(*, app: App) -> list[AudienceRow]:
    """The app's saved audiences by name."""
    found = async_to_sync(queries.object_find)(
        caller=_master(app), class_name=AUDIENCE_CLASS, params={"order": "name", "limit": AUDIENCES_LISTED},
        files_base="",
    )  # fmt: skip
    rows = []
    for obj in found["results"]:
        wire = audience_wire(obj)
        times = wire.get("timesUsed")
        rows.append(
            AudienceRow(
                id=str(wire["objectId"]), name=str(wire.get("name") or ""), query=wire.get("query"),
                query_text=orjson.dumps(wire.get("query")).decode(),
                times_used=int(times) if isinstance(times, int | float) else 0, last_used=_date(wire.get("lastUsed")),
            )
        )  # fmt: skip
    return rows


def installation_field_types(*, app: App) -> dict[str, str]:
    """The app's ``_Installation`` fields and their Parse types (empty when the class has no schema yet)."""
    try:
        schema = async_to_sync(schemas.schema_get)(caller=_master(app), class_name=INSTALLATION)
    except ParseError:
        return {}
    fields = schema.get("fields") or {}
    return {name: str(spec.get("type")) for name, spec in fields.items() if isinstance(spec, dict)}
