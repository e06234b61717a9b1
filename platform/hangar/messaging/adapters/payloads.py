"""Parse's push ``data`` in each vendor's shape (shared by the FCM, APNs and Web Push adapters).

Parse clients send ``data`` with a few reserved keys (alert, title, badge, sound,
content-available, mutable-content, category, uri, ...) and any custom keys. APNs wants the
reserved ones inside ``aps`` and custom keys beside it; the Parse Android SDK reads the whole
``data`` as one JSON string under ``data`` (as @parse/push-adapter sends it), because FCM data
values must be strings.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

# Parse key -> key inside ``aps`` (https://developer.apple.com/documentation/usernotifications/generating-a-remote-notification)
_APS_KEYS = {
    "badge": "badge",
    "sound": "sound",
    "content-available": "content-available",
    "mutable-content": "mutable-content",
    "category": "category",
    "threadId": "thread-id",
    "targetContentIdentifier": "target-content-id",
    "interruptionLevel": "interruption-level",
}
# Keys that steer the request (headers), never sent as payload.
_HEADER_KEYS = {"expiration_time", "expiration_interval", "collapse_id", "push_type", "priority", "push_time"}
# APNs integers that mean nothing to an Android client and must not reach FCM's string-only data.
_APNS_ONLY_KEYS = {"badge", "content-available", "mutable-content"}


def aps_payload(data: dict[str, Any], *, badge: int | None = None) -> dict[str, Any]:
    """The APNs JSON body: ``aps`` from Parse's reserved keys, custom keys beside it."""
    aps: dict[str, Any] = dict(data["aps"]) if isinstance(data.get("aps"), dict) else {}
    payload: dict[str, Any] = {}
    for key, value in data.items():
        if key in ("aps", *_HEADER_KEYS):
            continue
        if key == "alert":
            aps["alert"] = value if isinstance(value, dict) else {**_alert_of(aps), "body": value}
        elif key == "title":
            aps["alert"] = {**_alert_of(aps), "title": value}
        elif key in _APS_KEYS:
            aps[_APS_KEYS[key]] = value
        else:
            payload[key] = value  # "uri" and custom keys: the Parse iOS SDK reads them beside aps
    if badge is not None:
        aps["badge"] = badge  # the installation's badge after an Increment
    elif not isinstance(aps.get("badge", 0), int):
        aps.pop("badge")  # "Increment" left unresolved: APNs wants a number
    return {"aps": aps, **payload}


def _alert_of(aps: dict[str, Any]) -> dict[str, Any]:
    alert = aps.get("alert")
    return alert if isinstance(alert, dict) else {}


def android_data(
    data: dict[str, Any], *, push_id: str, sent_at: datetime | None = None, badge: int | None = None
) -> dict[str, str]:
    """FCM ``android.data`` for the Parse Android SDK: every value a string, Parse's data as JSON.

    ``badge`` is the installation's own badge after a ``"badge": "Increment"`` (the engine counted
    it); it travels inside Parse's JSON, where an app's launcher-badge code reads it."""
    parse_data = {k: v for k, v in data.items() if k not in _APNS_ONLY_KEYS and k not in _HEADER_KEYS}
    if badge is not None:
        parse_data["badge"] = badge
    at = (sent_at or datetime.now(UTC)).astimezone(UTC)
    return {
        "push_id": push_id,
        "time": at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z",
        "data": json.dumps(parse_data, separators=(",", ":"), default=str),
    }


def web_payload(data: dict[str, Any], *, push_id: str) -> bytes:
    """The (to be encrypted) Web Push body: Parse's data as JSON, read by the site's service worker."""
    body = {k: v for k, v in data.items() if k not in _HEADER_KEYS}
    return json.dumps({"push_id": push_id, "data": body}, separators=(",", ":"), default=str).encode()


def seconds_until(expiration: datetime | None, *, now: datetime | None = None, cap: int) -> int | None:
    """A time-to-live in whole seconds (0 when already past, at most ``cap``), None without expiration."""
    if expiration is None:
        return None
    remaining = (expiration - (now or datetime.now(UTC))).total_seconds()
    return max(0, min(cap, int(remaining)))
