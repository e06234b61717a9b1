"""An app's cloud-code log as Parse Server's ``/scriptlog`` answers it: entries ``{level, message, timestamp}``.

The records kept by hangar.cloudcode.logs (one per invocation, with its ``request.log``
lines and captured output) are flattened into lines: one line for the invocation's
outcome, then one per line it logged. ``level`` keeps the lines of that level only, as
Parse Server's logger query does; ``from``/``until`` bound them in time (Parse's
defaults: the last week, until now); ``order`` is ``desc`` (newest first) or ``asc``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hangar.cloudcode.logs import log_records
from hangar.parse_errors import INVALID_QUERY, ParseError

DEFAULT_SIZE = 10  # Parse Server's
MAX_SIZE = 1000
_WEEK_SECONDS = 7 * 86400


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _instant(value: Any, name: str) -> float | None:
    if value in (None, ""):
        return None
    text = str(value)
    try:
        if text.lstrip("-").isdigit():  # milliseconds since the epoch, as the dashboard sends
            return int(text) / 1000
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError as exc:
        raise ParseError(INVALID_QUERY, f"{name} must be a date.") from exc


def _size(value: Any) -> int:
    try:
        size = int(value) if value not in (None, "") else DEFAULT_SIZE
    except (TypeError, ValueError) as exc:
        raise ParseError(INVALID_QUERY, "size must be a number.") from exc
    return max(1, min(size, MAX_SIZE))


def _summary(record: dict[str, Any]) -> str:
    what = f"{record.get('kind', 'function')} {record.get('name', '')}".strip()
    if record.get("className"):
        what += f" on {record['className']}"
    if record.get("outcome") == "error":
        return f"{what} failed after {record.get('ms', 0)} ms: {record.get('error', '')}"
    return f"{what} ran in {record.get('ms', 0)} ms"


def _lines(record: dict[str, Any]) -> list[dict[str, Any]]:
    at = float(record.get("at") or 0)
    lines = [{"level": "error" if record.get("outcome") == "error" else "info", "message": _summary(record), "at": at}]
    for line in record.get("lines") or []:
        level = "warn" if line.get("level") == "warning" else str(line.get("level") or "info")
        lines.append({"level": level, "message": str(line.get("message", "")), "at": float(line.get("at") or at)})
    return lines


async def script_log(app_pk: int, query: dict[str, Any]) -> list[dict[str, Any]]:
    size = _size(query.get("n") or query.get("size"))
    order = str(query.get("order") or "desc")
    if order not in ("asc", "desc"):
        raise ParseError(INVALID_QUERY, "order must be asc or desc.")
    level = str(query.get("level") or "info").lower()
    until = _instant(query.get("until"), "until") or datetime.now(UTC).timestamp()
    since = _instant(query.get("from"), "from") or until - _WEEK_SECONDS
    lines = [
        line
        for record in await log_records(app_pk, limit=MAX_SIZE)
        for line in _lines(record)
        if line["level"] == level and since <= line["at"] <= until
    ]
    lines.sort(key=lambda line: line["at"], reverse=True)
    chosen = lines[:size]
    if order == "asc":
        chosen.reverse()
    return [{"level": line["level"], "message": line["message"], "timestamp": _iso(line["at"])} for line in chosen]
