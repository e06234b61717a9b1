"""SQL conditions that apply an object's compiled ACL (``_rperm``/``_wperm``) to a caller.

A row is readable when it has no read list (``NULL``: public) or its read list shares a
principal with the caller's groups ``["*", userId, "role:Name", ...]`` (protocol
reference §5.4, §18.11); ``{}`` therefore means master key only. Same for writes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def acl_read_condition(principals: Iterable[str]) -> tuple[str, list[Any]]:
    """Return ``(sql, params)`` true for rows the principals may read."""
    return _condition("_rperm", principals)


def acl_write_condition(principals: Iterable[str]) -> tuple[str, list[Any]]:
    """Return ``(sql, params)`` true for rows the principals may update or delete."""
    return _condition("_wperm", principals)


def _condition(column: str, principals: Iterable[str]) -> tuple[str, list[Any]]:
    # Each principal is its own text parameter: psycopg adapts scalar strings far more cheaply
    # than a Python list as a text[] (measured ~60 µs per statement on the hot path).
    listed = _principal_list(principals)
    placeholders = ", ".join(["%s"] * len(listed))
    return f"({column} IS NULL OR {column} && ARRAY[{placeholders}]::text[])", listed


def _principal_list(principals: Iterable[str]) -> list[str]:
    if isinstance(principals, str):  # a lone string would be read as a list of letters
        raise TypeError("principals must be an iterable of strings, not a string")
    listed = list(principals)
    if not all(isinstance(principal, str) for principal in listed):
        raise TypeError("principals must be strings")
    return listed
