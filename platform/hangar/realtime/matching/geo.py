"""Geo operators computed in Python exactly as the SQL side computes them (hangar.datastore.query.geo).

Distances use the same haversine expression in the same float operations; polygon
containment follows PostgreSQL's ``polygon @> point`` (geo_ops.c ``point_inside``: a
crossing count on the plane of (longitude, latitude), with its 1e-6 tolerance, points on
the outline counting as inside).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from hangar.datastore.query.geo import Point
from hangar.realtime.matching.values import as_text

EPSILON = 1.0e-06  # PostgreSQL's geometric tolerance (geo_decls.h)
ON_OUTLINE = 1 << 30


def member_float(value: Any, key: str) -> float | None:
    """``(value->>'key')::float8``; None where SQL gives NULL (or would fail the cast)."""
    if not isinstance(value, dict):
        return None
    member = value.get(key)
    if isinstance(member, int | float) and not isinstance(member, bool):
        return float(member)  # the same double as reading the number's text back
    text = as_text(member)
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def location(value: Any) -> tuple[float, float] | None:
    """(latitude, longitude) of a stored GeoPoint-like object."""
    latitude = member_float(value, "latitude")
    longitude = member_float(value, "longitude")
    if latitude is None or longitude is None:
        return None
    return latitude, longitude


def distance(latitude: float, longitude: float, center: Point) -> float:
    """Great-circle angle in radians, in the SQL side's order of operations."""
    half_lat = math.pow(math.sin(math.radians(latitude - center.latitude) / 2), 2)
    half_lng = math.pow(math.sin(math.radians(longitude - center.longitude) / 2), 2)
    root = math.sqrt(half_lat + math.cos(math.radians(center.latitude)) * math.cos(math.radians(latitude)) * half_lng)
    return 2 * math.asin(min(1.0, root))


def polygon_contains(outline: Sequence[tuple[float, float]], x: float, y: float) -> bool:
    """PostgreSQL's ``polygon @> point`` for an outline of (x, y) corners."""
    if not outline:
        return False
    first_x, first_y = outline[0][0] - x, outline[0][1] - y
    prev_x, prev_y = first_x, first_y
    total = 0
    for corner_x, corner_y in outline[1:]:
        cur_x, cur_y = corner_x - x, corner_y - y
        crossing = _crossing(cur_x, cur_y, prev_x, prev_y)
        if crossing == ON_OUTLINE:
            return True
        total += crossing
        prev_x, prev_y = cur_x, cur_y
    crossing = _crossing(first_x, first_y, prev_x, prev_y)
    return crossing == ON_OUTLINE or total + crossing != 0


def _zero(a: float) -> bool:
    return abs(a) <= EPSILON


def _gt(a: float, b: float) -> bool:
    return a - b > EPSILON


def _lt(a: float, b: float) -> bool:
    return b - a > EPSILON


def _crossing(x: float, y: float, prev_x: float, prev_y: float) -> int:
    """How the segment (prev -> current) crosses the positive x axis (twice-signed), or ON_OUTLINE."""
    if _zero(y):
        if _zero(x):
            return ON_OUTLINE
        if _gt(x, 0):
            if _zero(prev_y):
                return 0 if _gt(prev_x, 0.0) else ON_OUTLINE
            return 1 if _lt(prev_y, 0.0) else -1
        if _zero(prev_y):
            return 0 if _lt(prev_x, 0.0) else ON_OUTLINE
        return 0
    y_sign = 1 if _gt(y, 0.0) else -1
    if _zero(prev_y):
        return 0 if _lt(prev_x, 0.0) else y_sign
    if (y_sign < 0 and _lt(prev_y, 0.0)) or (y_sign > 0 and _gt(prev_y, 0.0)):
        return 0
    if not _lt(x, 0.0) and _gt(prev_x, 0.0):
        return 2 * y_sign
    if _lt(x, 0.0) and (prev_x - 0.0 <= EPSILON):
        return 0
    z = (x - prev_x) * y - (y - prev_y) * x
    if _zero(z):
        return ON_OUTLINE
    if (y_sign < 0 and _lt(z, 0.0)) or (y_sign > 0 and _gt(z, 0.0)):
        return 0
    return 2 * y_sign


def stored_polygon(value: Any) -> list[tuple[float, float]] | None:
    """The (longitude, latitude) outline of a stored Polygon; None when SQL would build no polygon."""
    if not isinstance(value, dict) or as_text(value.get("__type")) != "Polygon":
        return None
    coordinates = value.get("coordinates")
    if not isinstance(coordinates, list):
        return None
    outline = []
    for pair in coordinates:
        if isinstance(pair, list) and len(pair) >= 2 and _is_json_number(pair[0]) and _is_json_number(pair[1]):
            outline.append((float(pair[1]), float(pair[0])))
    return outline or None


def _is_json_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
