"""Geo queries in plain SQL: no PostGIS (protocol reference §8.1).

Distances are great-circle angles in radians computed with the haversine formula, as
MongoDB's ``$nearSphere``/``$maxDistance`` measure them (km = radians * 6371,
miles = radians * 3959). Polygons use PostgreSQL's core geometric types
(``polygon @> point``) on the plane of (longitude, latitude), as Parse Server on
Postgres does. GeoPoints are stored as ``{"__type":"GeoPoint","latitude","longitude"}``
and Polygons as ``{"__type":"Polygon","coordinates":[[lat, lng], ...]}``.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from hangar.datastore.query.context import Scope, Sql, and_all, concat, sql
from hangar.datastore.query.fields import FieldRef
from hangar.datastore.query.literals import is_number, wire_type
from hangar.parse_errors import INVALID_JSON, ParseError

EARTH_RADIUS_KM = 6371.0
EARTH_RADIUS_MILES = 3959.0
DISTANCE_KEYS = {
    "$maxDistance": 1.0,
    "$maxDistanceInRadians": 1.0,
    "$maxDistanceInKilometers": EARTH_RADIUS_KM,
    "$maxDistanceInMiles": EARTH_RADIUS_MILES,
}


class Point(NamedTuple):
    latitude: float
    longitude: float


def geo_point(value: Any, what: str) -> Point:
    """A GeoPoint object, or a ``[longitude, latitude]`` pair (107 when malformed or out of bounds)."""
    if isinstance(value, list) and len(value) == 2 and all(is_number(item) for item in value):
        latitude, longitude = value[1], value[0]
    elif wire_type(value) == "GeoPoint" and is_number(value.get("latitude")) and is_number(value.get("longitude")):
        latitude, longitude = value["latitude"], value["longitude"]
    else:
        raise ParseError(INVALID_JSON, f"bad {what} value; should be a GeoPoint")
    if not (math.isfinite(latitude) and -90 <= latitude <= 90):
        raise ParseError(INVALID_JSON, f"bad {what} value; GeoPoint latitude out of bounds: {latitude}")
    if not (math.isfinite(longitude) and -180 <= longitude <= 180):
        raise ParseError(INVALID_JSON, f"bad {what} value; GeoPoint longitude out of bounds: {longitude}")
    return Point(float(latitude), float(longitude))


def _latitude(ref: FieldRef) -> str:
    return f"({ref.member('latitude')})::float8"


def _longitude(ref: FieldRef) -> str:
    return f"({ref.member('longitude')})::float8"


def distance(ref: FieldRef, center: Point) -> Sql:
    """Great-circle distance in radians from the field's GeoPoint to ``center`` (haversine)."""
    lat, lng = _latitude(ref), _longitude(ref)
    # LEAST ignores a NULL argument, so without the guard an object with no point would be at
    # distance π (LEAST(1.0, NULL) = 1.0) and inside any radius of π or more; NULL it stays.
    return sql(
        f"(CASE WHEN {lat} IS NOT NULL AND {lng} IS NOT NULL THEN"
        f" 2 * asin(LEAST(1.0, sqrt(power(sin(radians({lat} - %s::float8) / 2), 2)"
        f" + cos(radians(%s::float8)) * cos(radians({lat})) * power(sin(radians({lng} - %s::float8) / 2), 2))))"
        " END)",
        center.latitude,
        center.latitude,
        center.longitude,
    )


def near_sphere(scope: Scope, ref: FieldRef, value: Any, constraint: dict[str, Any]) -> Sql:
    """``$nearSphere`` (+ ``$maxDistance*``): within the radius, nearest first unless ordered otherwise."""
    center = geo_point(value, "$nearSphere")
    measure = distance(ref, center)
    if scope.outer:
        scope.state.distance_sorts.append(measure)
    radius = max_distance(constraint)
    if radius is None:
        return sql(f"({ref.json} IS NOT NULL)")
    return concat(measure, sql(" <= %s::float8", radius))


def max_distance(constraint: dict[str, Any]) -> float | None:
    """The radius in radians of a ``$nearSphere``'s ``$maxDistance*`` (None: none given); also LiveQuery's."""
    for key, radius_in_unit in DISTANCE_KEYS.items():
        if key in constraint:
            value = constraint[key]
            if not is_number(value) or not math.isfinite(value) or value < 0:
                raise ParseError(INVALID_JSON, f"bad {key} value; should be a non-negative number")
            return float(value) / radius_in_unit
    return None


def within_box(scope: Scope, ref: FieldRef, value: Any) -> Sql:
    """``$within: {$box: [southwest, northeast]}`` (corners are normalised like a PostgreSQL box)."""
    box = value.get("$box") if isinstance(value, dict) else None
    if not isinstance(box, list) or len(box) != 2:
        raise ParseError(INVALID_JSON, "malformatted $within arg")
    first, second = geo_point(box[0], "$within"), geo_point(box[1], "$within")
    lat, lng = _latitude(ref), _longitude(ref)
    return sql(
        f"({lat} BETWEEN %s AND %s AND {lng} BETWEEN %s AND %s)",
        min(first.latitude, second.latitude),
        max(first.latitude, second.latitude),
        min(first.longitude, second.longitude),
        max(first.longitude, second.longitude),
    )


def geo_within(scope: Scope, ref: FieldRef, value: Any) -> Sql:
    """``$geoWithin``: ``$polygon`` (GeoPoints, ``[lng, lat]`` pairs or a Polygon) or ``$centerSphere``."""
    if isinstance(value, dict) and "$polygon" in value:
        return _within_polygon(scope, ref, value["$polygon"])
    if isinstance(value, dict) and "$centerSphere" in value:
        return _within_sphere(ref, value["$centerSphere"])
    raise ParseError(INVALID_JSON, "bad $geoWithin value; use $polygon or $centerSphere")


def polygon_points(polygon: Any) -> list[Point]:
    """The corners of ``$geoWithin: {$polygon}``: a Polygon (``[lat, lng]`` pairs) or GeoPoints (also LiveQuery's)."""
    if wire_type(polygon) == "Polygon":
        coordinates = polygon.get("coordinates")
        if not isinstance(coordinates, list) or len(coordinates) < 3:
            raise ParseError(
                INVALID_JSON, "bad $geoWithin value; Polygon.coordinates should contain at least 3 lat/lng pairs"
            )
        return [geo_point(_lat_lng_pair(pair), "$geoWithin") for pair in coordinates]
    if isinstance(polygon, list):
        if len(polygon) < 3:
            raise ParseError(INVALID_JSON, "bad $geoWithin value; $polygon should contain at least 3 GeoPoints")
        return [geo_point(point, "$geoWithin") for point in polygon]
    raise ParseError(
        INVALID_JSON, "bad $geoWithin value; $polygon should be Polygon object or Array of Parse.GeoPoint's"
    )


def _within_polygon(scope: Scope, ref: FieldRef, polygon: Any) -> Sql:
    points = polygon_points(polygon)
    scope.state.charge(len(points))
    outline = ",".join(f"({point.longitude!r},{point.latitude!r})" for point in points)
    return sql(f"(%s::polygon @> point({_longitude(ref)}, {_latitude(ref)}))", f"({outline})")


def _lat_lng_pair(pair: Any) -> Any:
    """Polygon coordinates are ``[lat, lng]``: turn one into the ``[lng, lat]`` form geo_point reads."""
    return [pair[1], pair[0]] if isinstance(pair, list) and len(pair) == 2 else pair


def center_sphere_operands(value: Any) -> tuple[Point, float]:
    """The center and radius (radians) of ``$geoWithin: {$centerSphere: [point, radius]}`` (also LiveQuery's)."""
    if not isinstance(value, list) or len(value) < 2:
        raise ParseError(
            INVALID_JSON, "bad $geoWithin value; $centerSphere should be an array of Parse.GeoPoint and distance"
        )
    center = geo_point(value[0], "$geoWithin")
    radius = value[1]
    if not is_number(radius) or not math.isfinite(radius) or radius < 0:
        raise ParseError(INVALID_JSON, "bad $geoWithin value; $centerSphere distance invalid")
    return center, float(radius)


def _within_sphere(ref: FieldRef, value: Any) -> Sql:
    center, radius = center_sphere_operands(value)
    return concat(distance(ref, center), sql(" <= %s::float8", radius))


def geo_intersects(scope: Scope, ref: FieldRef, value: Any) -> Sql:
    """``$geoIntersects: {$point}``: the Polygon field contains the point."""
    point = geo_point(value.get("$point") if isinstance(value, dict) else None, "$geoIntersects")
    coordinates = f"{ref.json}->'coordinates'"
    stored_polygon = (
        "(SELECT ('(' || string_agg('(' || (corner.pair->>1) || ',' || (corner.pair->>0) || ')', ','"
        " ORDER BY corner.position) FILTER (WHERE jsonb_typeof(corner.pair->0) = 'number'"
        " AND jsonb_typeof(corner.pair->1) = 'number') || ')')::polygon"
        f" FROM jsonb_array_elements(CASE WHEN jsonb_typeof({coordinates}) = 'array' THEN {coordinates}"
        " ELSE '[]'::jsonb END) WITH ORDINALITY AS corner(pair, position))"
    )
    return and_all(
        [
            sql(f"({ref.member('__type')} = 'Polygon')"),
            sql(f"({stored_polygon} @> point(%s::float8, %s::float8))", point.longitude, point.latitude),
        ]
    )
