"""A push campaign is recorded as its ``_PushStatus`` row, then handed to the delivery engine.

The row is Parse Server's (StatusHandler.js ``pushStatusHandler.setInitial``), and it holds
everything the engine needs (docs/messaging.md, "Sending a push"): ``pushTime`` (ISO 8601
with ``Z``; without a zone for a send in each installation's local time), ``query`` and
``payload`` as JSON strings, ``expiry`` (ms) or ``expiration_interval`` (s), ``status``
``scheduled`` when it waits for its time, else ``pending``. The row's ACL is empty: only the
master key sees it.

The row is the durable record: ``hangar.messaging.dispatch.campaign_enqueue`` only starts
the engine sooner, and the engine's periodic tick picks up due ``pending``/``scheduled``
rows, so a campaign whose enqueue fails (broker down, process killed) is sent late, not lost.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from asgiref.sync import sync_to_async

from hangar.caller import Caller
from hangar.datastore import objects
from hangar.datastore.connection import after_commit
from hangar.messaging.push_classes import AUDIENCE_CLASS, PUSH_STATUS_CLASS
from hangar.messaging.push_spec import PushSpec
from hangar.parse_errors import OBJECT_NOT_FOUND, ParseError

logger = logging.getLogger(__name__)
Enqueue = Callable[..., None]
_EMPTY_MD5 = hashlib.md5(b"", usedforsecurity=False).hexdigest()  # Parse's pushHash of a push without alert


def _iso(moment: datetime, *, local: bool = False) -> str:
    """Parse's ``toISOString``: milliseconds and ``Z``; a local time keeps its wall clock and loses the zone."""
    text = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"
    return text if local else text + "Z"


def _date(moment: datetime) -> dict[str, str]:
    return {"__type": "Date", "iso": _iso(moment.astimezone(UTC))}


def push_hash(data: dict[str, Any]) -> str:
    """Parse Server's ``pushHash``: the md5 of the alert (of its JSON when it is an object)."""
    alert = data.get("alert")
    if isinstance(alert, str):
        return hashlib.md5(alert.encode(), usedforsecurity=False).hexdigest()
    if isinstance(alert, dict):
        return hashlib.md5(orjson.dumps(alert), usedforsecurity=False).hexdigest()
    return _EMPTY_MD5


def push_status_fields(spec: PushSpec, *, now: datetime) -> dict[str, Any]:
    """The ``_PushStatus`` row of a new campaign (Parse Server's fields)."""
    when = spec.push_time
    scheduled = when is not None and (when.local or when.at > now)
    expiry = spec.expiration_time
    if expiry is None and spec.expiration_interval_seconds is not None and when is None:
        # Parse Server: an immediate push's interval becomes an absolute expiry at once.
        expiry = now + timedelta(seconds=spec.expiration_interval_seconds)
    fields: dict[str, Any] = {
        "pushTime": _iso(when.at, local=when.local) if when is not None else _iso(now),
        "source": spec.source,
        "query": orjson.dumps(spec.where).decode(),
        "payload": orjson.dumps(spec.data).decode(),
        "status": "scheduled" if scheduled else "pending",
        "numSent": 0,
        "numFailed": 0,
        "pushHash": push_hash(spec.data),
        "ACL": {},
    }
    if isinstance(spec.data.get("title"), str):
        fields["title"] = spec.data["title"]
    if expiry is not None:
        fields["expiry"] = int(expiry.timestamp() * 1000)
    if spec.expiration_interval_seconds is not None:
        fields["expiration_interval"] = spec.expiration_interval_seconds
    return fields


def _default_enqueue() -> Enqueue | None:
    """The engine's ``campaign_enqueue``; None in a build without the delivery engine (its tick still runs rows)."""
    try:
        from hangar.messaging.dispatch import campaign_enqueue
    except ModuleNotFoundError as exc:
        if exc.name != "hangar.messaging.dispatch":
            raise
        return None
    return campaign_enqueue


async def _audience_used(master: Caller, audience_id: str, now: datetime) -> None:
    """Parse Server's audience statistics: ``lastUsed`` and ``timesUsed`` (a missing audience is ignored)."""
    try:
        await objects.object_update(
            caller=master, class_name=AUDIENCE_CLASS, object_id=audience_id,
            body={"lastUsed": _date(now), "timesUsed": {"__op": "Increment", "amount": 1}}, files_base="",
        )  # fmt: skip
    except ParseError as exc:
        if exc.code != OBJECT_NOT_FOUND:
            raise


async def campaign_create(*, app_pk: int, spec: PushSpec, enqueue: Enqueue | None = None) -> str:
    """Record the campaign as a ``_PushStatus`` row and hand it to the engine; returns the row's objectId."""
    master = Caller(app_pk=app_pk, is_master=True)
    now = datetime.now(UTC)
    _, status_id = await objects.object_create(
        caller=master, class_name=PUSH_STATUS_CLASS, body=push_status_fields(spec, now=now), files_base=""
    )
    if spec.audience_id:
        await _audience_used(master, spec.audience_id, now)
    start = enqueue or _default_enqueue()

    async def handed_over() -> None:
        if start is None:
            logger.warning("push %s of app %s recorded; no delivery engine in this build", status_id, app_pk)
            return
        try:
            await sync_to_async(start, thread_sensitive=False)(app_pk=app_pk, push_status_id=status_id)
        except Exception:
            # The row stays pending: the engine's tick sends it late rather than never.
            logger.exception(
                "push %s of app %s could not be enqueued; the engine's tick will start it", status_id, app_pk
            )

    await after_commit(handed_over)  # inside a /batch transaction the engine must see the committed row
    return status_id
