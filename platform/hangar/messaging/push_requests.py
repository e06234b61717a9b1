"""A Parse push request (``POST /push``, cloud code's push call) checked and turned into a ``PushSpec``.

Follows Parse Server's PushRouter and PushController (protocol reference §13.4): exactly
one of ``channels`` (→ ``{"channels": {"$in": [...]}}``) and ``where``; ``data`` with
``badge`` a number, ``"Increment"`` or ``{"__op": "Increment", "amount": n}``;
``push_time`` an ISO 8601 string (with ``Z`` or an offset: absolute; without a zone: the
wall-clock time in each installation's ``timeZone``) or a Unix time in seconds;
``expiration_time`` (ISO string or Unix seconds) or ``expiration_interval`` (seconds > 0),
not both. A bad request is Parse's 115 with Parse Server's message.

Where Hangar differs: an ``audience_id`` alone (no ``where``) sends to the saved audience's
query (Parse Server needs the dashboard to send the query too); a numeric ``push_time`` is
absolute (Parse Server 7 treats it as a local time without a zone); the ``where`` is
compiled against ``_Installation`` before anything is recorded, so a query the engine could
not run is refused now (102) rather than failing the campaign later.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from hangar.caller import Caller
from hangar.datastore import queries
from hangar.messaging.push_classes import AUDIENCE_CLASS, audience_query_of
from hangar.messaging.push_spec import PushSpec, PushTime
from hangar.parse_errors import OBJECT_NOT_FOUND, PUSH_MISCONFIGURED, ParseError

INSTALLATION = "_Installation"
_INVALID_BADGE = "Invalid value for badge, expected number or 'Increment' or {increment: number}"
# A campaign names at most this many channels: a bigger list is a query, not a targeting choice.
MAX_CHANNELS = 1000


def _misconfigured(message: str) -> ParseError:
    return ParseError(PUSH_MISCONFIGURED, message)


def _where_of(body: dict[str, Any]) -> dict[str, Any] | None:
    """The installation query the body targets (None: only an audience_id names it)."""
    has_where, has_channels = "where" in body, "channels" in body
    if has_where and has_channels:
        raise _misconfigured("Channels and query can not be set at the same time.")
    if has_channels:
        channels = body["channels"]
        if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
            raise _misconfigured("channels must be an array of strings.")
        if len(channels) > MAX_CHANNELS:
            raise _misconfigured(f"A push names at most {MAX_CHANNELS} channels.")
        return {"channels": {"$in": channels}}
    if has_where:
        where = body["where"]
        if not isinstance(where, dict):
            raise _misconfigured("where must be a query object.")
        return where
    if body.get("audience_id") is None:
        raise _misconfigured('Sending a push requires either "channels" or a "where" query.')
    return None


def _check_badge(data: dict[str, Any]) -> None:
    badge = data.get("badge")
    if not badge:  # Parse Server ignores a missing, 0 or empty badge
        return
    if isinstance(badge, str) and badge.lower() == "increment":
        return
    if isinstance(badge, dict):
        op, amount = badge.get("__op"), badge.get("amount")
        if isinstance(op, str) and op.lower() == "increment" and _is_number(amount) and amount:
            return
        raise _misconfigured(_INVALID_BADGE)
    if _is_number(badge):
        return
    if isinstance(badge, str):
        try:
            float(badge)
            return
        except ValueError:
            pass
    raise _misconfigured(_INVALID_BADGE)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _has_zone(text: str) -> bool:
    """Parse Server's pushTimeHasTimezoneComponent: a trailing ``Z`` or ``±hh:mm``."""
    return text.endswith("Z") or (len(text) > 6 and text[-6] in "+-" and text[-3] == ":")


def _parse_time(value: Any, name: str) -> tuple[datetime, bool]:
    """(the moment, whether it is a local wall-clock time); 115 "<value> is not valid time." otherwise."""
    invalid = _misconfigured(f"{value} is not valid time.")
    if _is_number(value):
        try:
            return datetime.fromtimestamp(value, UTC), False
        except (OverflowError, OSError, ValueError):
            raise invalid from None
    if not isinstance(value, str) or not value.strip():
        raise invalid
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        raise invalid from None
    if _has_zone(text) and moment.tzinfo is not None:
        return moment.astimezone(UTC), False
    if moment.tzinfo is not None:  # an offset form Parse does not recognise (e.g. +0200): still absolute
        return moment.astimezone(UTC), False
    return moment, True


def _push_time(body: dict[str, Any]) -> PushTime | None:
    if "push_time" not in body:
        return None
    moment, local = _parse_time(body["push_time"], "push_time")
    return PushTime(at=moment, local=local)


def _expiration(body: dict[str, Any]) -> tuple[datetime | None, int | None]:
    expiration_time = None
    if "expiration_time" in body:
        expiration_time, local = _parse_time(body["expiration_time"], "expiration_time")
        if local:  # an expiry is one moment for every device: a zone-less time is read as UTC
            expiration_time = expiration_time.replace(tzinfo=UTC)
    interval = None
    if "expiration_interval" in body:
        value = body["expiration_interval"]
        if not _is_number(value) or value <= 0:
            raise _misconfigured("expiration_interval must be a number greater than 0")
        interval = int(value) if float(value).is_integer() else int(value) + 1
    if expiration_time is not None and interval is not None:
        raise _misconfigured("Both expiration_time and expiration_interval cannot be set")
    return expiration_time, interval


async def _audience_where(caller: Caller, audience_id: Any) -> dict[str, Any]:
    if not isinstance(audience_id, str) or not audience_id:
        raise _misconfigured("audience_id must be an audience's objectId.")
    try:
        audience = await queries.object_get(
            caller=caller, class_name=AUDIENCE_CLASS, object_id=audience_id, params={}, files_base=""
        )
    except ParseError as exc:
        if exc.code == OBJECT_NOT_FOUND:
            raise ParseError(OBJECT_NOT_FOUND, "Audience not found.") from exc
        raise
    return audience_query_of(audience.get("query"))


async def installation_query_check(caller: Caller, where: dict[str, Any]) -> None:
    """Compile ``where`` against ``_Installation`` without running it: a bad query is refused now."""
    await queries.object_find(
        caller=caller, class_name=INSTALLATION, params={"where": where, "limit": 0}, files_base=""
    )


async def push_spec_from_request(
    *, caller: Caller, body: Any, source: Literal["rest", "webui", "cloud"] = "rest"
) -> PushSpec:
    """Check a push request as the app's master (``caller``) and return what to record; ParseError otherwise."""
    if not caller.is_master:
        raise ParseError(PUSH_MISCONFIGURED, "Sending a push requires the master key.")
    # The checks read as the app's bare master: no beforeFind trigger runs for a push being sent.
    caller = Caller(app_pk=caller.app_pk, is_master=True)
    if not isinstance(body, dict):
        raise _misconfigured('Sending a push requires either "channels" or a "where" query.')
    where = _where_of(body)
    audience_id = body.get("audience_id")
    if where is None:
        where = await _audience_where(caller, audience_id)
    elif audience_id is not None and not isinstance(audience_id, str):
        raise _misconfigured("audience_id must be an audience's objectId.")
    data = body.get("data", {})
    if not isinstance(data, dict):
        raise _misconfigured("data must be an object.")
    _check_badge(data)
    push_time = _push_time(body)
    expiration_time, interval = _expiration(body)
    await installation_query_check(caller, where)
    return PushSpec(
        where=where, data=data, push_time=push_time, expiration_time=expiration_time,
        expiration_interval_seconds=interval, audience_id=audience_id or None, source=source,
    )  # fmt: skip
