"""What one installation is sent: the campaign's ``data``, localized for its locale, with its own badge.

Parse's ``data`` may ask for a badge ``Increment`` (the string, or ``{"__op": "Increment",
"amount": n}``): each installation is then sent its own badge plus the amount, and that
becomes its stored badge (Parse Server's PushController increments the installations'
badges and sends each group its new value). Localized alerts (``alert-fr``, ``title-de``)
are resolved by push-api's ``hangar.messaging.localization.localized_data``, given here as
a parameter so the engine is tested with a localizer of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Localizer = Callable[[dict[str, Any], str], dict[str, Any]]


def badge_increment(data: dict[str, Any]) -> int | None:
    """The amount each installation's badge grows by, or None when the campaign sets no relative badge."""
    badge = data.get("badge")
    if isinstance(badge, str) and badge.lower() == "increment":
        return 1
    if isinstance(badge, dict) and badge.get("__op") == "Increment":
        amount = badge.get("amount", 1)
        if isinstance(amount, int) and not isinstance(amount, bool):
            return amount
        return 1
    return None


def default_localizer() -> Localizer | None:
    """push-api's localizer (``hangar.messaging.localization``); None where that module is not installed."""
    try:
        from hangar.messaging.localization import localized_data  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    return localized_data  # type: ignore[no-any-return,unused-ignore]


def installation_data(
    data: dict[str, Any], *, locale: str, badge: int | None, localize: Localizer | None
) -> dict[str, Any]:
    """The ``data`` one installation receives."""
    sent = localize(data, locale) if localize is not None and locale else dict(data)
    if badge is not None:
        sent["badge"] = badge
    elif badge_increment(sent) is not None:  # an increment with no known badge never reaches a device as text
        sent.pop("badge", None)
    return sent


def is_localized(data: dict[str, Any]) -> bool:
    """Whether ``data`` holds per-locale variants (``alert-fr``), so that payloads differ by locale."""
    return any("-" in key and key.split("-", 1)[0] in ("alert", "title") for key in data)
