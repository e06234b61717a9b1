"""TEMPORARY matcher: equality, ``$exists`` and ``$in`` only.

TEMPORARY: the lq-matcher branch replaces this whole module with the real matcher (every
LiveQuery operator, proved against the SQL compiler). The realtime service imports only
``compile_matcher`` and ``UnsupportedQuery`` from here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hangar.parse_errors import INVALID_QUERY, ParseError

Matcher = Callable[[dict[str, Any]], bool]


class UnsupportedQuery(ParseError):
    def __init__(self, message: str) -> None:
        super().__init__(INVALID_QUERY, message)


def _same(value: Any, expected: Any) -> bool:
    if isinstance(expected, dict) and expected.get("__type") == "Pointer":
        return isinstance(value, dict) and value.get("objectId") == expected.get("objectId")
    if isinstance(value, list) and not isinstance(expected, list):
        return any(_same(item, expected) for item in value)
    return bool(value == expected)


def _exists(key: str, wanted: bool) -> Matcher:
    return lambda obj: (key in obj and obj[key] is not None) == wanted


def _in(key: str, options: list[Any]) -> Matcher:
    return lambda obj: any(_same(obj.get(key), option) for option in options)


def _equals(key: str, expected: Any) -> Matcher:
    return lambda obj: _same(obj.get(key), expected)


def _field(key: str, condition: Any) -> Matcher:
    if isinstance(condition, dict) and any(name.startswith("$") for name in condition):
        checks: list[Matcher] = []
        for operator, operand in condition.items():
            if operator == "$exists":
                checks.append(_exists(key, bool(operand)))
            elif operator == "$in" and isinstance(operand, list):
                checks.append(_in(key, operand))
            elif operator == "$eq":
                checks.append(_equals(key, operand))
            else:
                raise UnsupportedQuery(f"LiveQuery does not support {operator} (yet)")
        return lambda obj: all(check(obj) for check in checks)
    return lambda obj: key in obj and _same(obj[key], condition)


def compile_matcher(where: dict[str, Any]) -> Matcher:
    """A predicate telling whether a wire object matches ``where``; raises UnsupportedQuery."""
    if not isinstance(where, dict):
        raise UnsupportedQuery("where must be an object")
    checks = []
    for key, condition in where.items():
        if key.startswith("$") or "." in key:
            raise UnsupportedQuery(f"LiveQuery does not support {key} (yet)")
        checks.append(_field(key, condition))
    return lambda obj: all(check(obj) for check in checks)
