"""A push send request, validated: what ``POST /parse/push`` and cloud code give the campaign engine.

The Parse handler (and cloud code's push call) parse and check the body (Parse error 115 for
a bad one) into a ``PushSpec``; ``hangar.messaging.campaigns.campaign_create`` records it as
a ``_PushStatus`` campaign and schedules its delivery. Nothing here touches the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal


@dataclass(frozen=True)
class PushTime:
    """When to send. ``local`` means: at this wall-clock time in each installation's ``timeZone``."""

    at: datetime  # aware (UTC) when not local; naive wall-clock time when local
    local: bool = False


@dataclass(frozen=True)
class PushSpec:
    # The installation query (Parse `where` on _Installation), `channels` already turned into
    # {"channels": {"$in": [...]}}; an audience's query already merged in.
    where: dict[str, Any]
    data: dict[str, Any]  # Parse's `data` as sent (badge may be "Increment" or an Increment op)
    push_time: PushTime | None = None  # None: now
    expiration_time: datetime | None = None  # aware UTC
    expiration_interval_seconds: int | None = None  # counted from push_time (or now)
    audience_id: str | None = None  # the _Audience it was sent to, for its lastUsed/timesUsed
    source: Literal["rest", "webui", "cloud"] = "rest"
