"""Localized push payloads: Parse's ``alert-<locale>`` and ``title-<locale>`` keys of ``data``.

As Parse Server's Push/utils.js (``getLocalesFromPush``, ``groupByLocaleIdentifier``,
``transformPushBodyForLocale``): a send's ``data`` may carry ``alert-fr``, ``title-pt-BR``...
An installation whose ``localeIdentifier`` starts with one of those locales (``fr`` matches
``fr-FR``; the first locale in the payload's key order that matches wins) gets that
alert/title in place of the default; every ``alert-*``/``title-*`` key is removed from what
any device receives. The delivery engine calls ``localized_data`` per installation.
"""

from __future__ import annotations

from typing import Any

LOCALIZABLE_KEYS = ("alert", "title")


def payload_locales(data: dict[str, Any]) -> list[str]:
    """The locales a payload has text for, in the order of its keys, each once."""
    locales: list[str] = []
    for key in data:
        for base in LOCALIZABLE_KEYS:
            prefix = f"{base}-"
            if key.startswith(prefix) and len(key) > len(prefix) and key[len(prefix) :] not in locales:
                locales.append(key[len(prefix) :])
    return locales


def _is_localized_key(key: str) -> bool:
    return any(key.startswith(f"{base}-") for base in LOCALIZABLE_KEYS)


def matching_locale(data: dict[str, Any], locale_identifier: str | None) -> str | None:
    """The payload locale an installation's ``localeIdentifier`` falls under (prefix match), if any."""
    if not locale_identifier:
        return None
    return next((locale for locale in payload_locales(data) if locale_identifier.startswith(locale)), None)


def localized_data(data: dict[str, Any], locale: str | None) -> dict[str, Any]:
    """``data`` as a device with this ``localeIdentifier`` receives it: its locale's alert/title, no locale keys."""
    chosen = matching_locale(data, locale)
    result = {key: value for key, value in data.items() if not _is_localized_key(key)}
    if chosen is not None:
        for base in LOCALIZABLE_KEYS:
            value = data.get(f"{base}-{chosen}")
            if value:  # Parse Server keeps the default when the locale's text is empty
                result[base] = value
    return result
