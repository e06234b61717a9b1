"""Geo queries in plain SQL: $nearSphere with distances and sorting, $within $box, $geoWithin, $geoIntersects."""

from __future__ import annotations

import pytest

from hangar.parse_errors import ParseError
from tests.datastore.query.conftest import Store, geopoint

pytestmark = pytest.mark.django_db

# Great-circle distances from San Francisco: Los Angeles 559 km (347 mi), New York 4129 km,
# Tokyo 8275 km, London 8616 km, Sydney 11948 km.
CITIES = {
    "sf": (37.7749, -122.4194),
    "la": (34.0522, -118.2437),
    "ny": (40.7128, -74.0060),
    "tokyo": (35.6762, 139.6503),
    "london": (51.5074, -0.1278),
    "sydney": (-33.8688, 151.2093),
}
SF = geopoint(*CITIES["sf"])


@pytest.fixture
def cities(store: Store) -> Store:
    for name, (latitude, longitude) in CITIES.items():
        store.put("Item", name, {"location": geopoint(latitude, longitude), "name": name})
    store.put("Item", "nowhere", {"name": "nowhere"})
    return store


def test_near_sphere_sorts_nearest_first(cities: Store):
    assert cities.find("Item", {"location": {"$nearSphere": SF}}) == ["sf", "la", "ny", "tokyo", "london", "sydney"]
    near_london = {"location": {"$nearSphere": geopoint(*CITIES["london"])}}
    assert cities.find("Item", near_london)[:3] == ["london", "ny", "sf"]


def test_near_sphere_radius_in_every_unit(cities: Store):
    def within(**distance: float) -> list[str]:
        return cities.find("Item", {"location": {"$nearSphere": SF, **distance}})

    assert within(**{"$maxDistanceInKilometers": 600}) == ["sf", "la"]
    assert within(**{"$maxDistanceInKilometers": 550}) == ["sf"]
    assert within(**{"$maxDistanceInMiles": 350}) == ["sf", "la"]
    assert within(**{"$maxDistanceInMiles": 345}) == ["sf"]
    assert within(**{"$maxDistanceInKilometers": 8400}) == ["sf", "la", "ny", "tokyo"]
    assert within(**{"$maxDistance": 0.65}) == ["sf", "la", "ny"]
    assert within(**{"$maxDistanceInRadians": 0.64}) == ["sf", "la"]


def test_a_radius_beyond_half_the_earth_still_leaves_out_objects_without_a_point(cities: Store):
    # Half a great circle is π radians: every city is inside, "nowhere" (no location) never is.
    everywhere = ["sf", "la", "ny", "tokyo", "london", "sydney"]
    assert cities.find("Item", {"location": {"$nearSphere": SF, "$maxDistanceInRadians": 4.0}}) == everywhere
    center_sphere = {"location": {"$geoWithin": {"$centerSphere": [SF, 4.0]}}}
    assert sorted(cities.find("Item", center_sphere)) == sorted(everywhere)


def test_an_explicit_order_replaces_the_distance_order(cities: Store):
    where = {"location": {"$nearSphere": SF, "$maxDistanceInKilometers": 5000}}
    assert cities.find("Item", where, order="-name") == ["sf", "ny", "la"]
    compiled = cities.compile("Item", where)
    assert compiled.order_sql.endswith(" ASC")
    assert compiled.order_params == [CITIES["sf"][0], CITIES["sf"][0], CITIES["sf"][1]]


def test_near_sphere_inside_a_sub_query_does_not_order_the_outer_query(cities: Store):
    where = {"post": {"$inQuery": {"className": "Item", "where": {"location": {"$nearSphere": SF}}}}}
    assert cities.compile("Item", where).order_sql is None


def test_within_box(cities: Store):
    southwest, northeast = geopoint(32, -125), geopoint(42, -115)
    assert cities.find("Item", {"location": {"$within": {"$box": [southwest, northeast]}}}) == ["la", "sf"]
    assert cities.find("Item", {"location": {"$within": {"$box": [northeast, southwest]}}}) == ["la", "sf"]


def test_geo_within_polygon_of_geopoints(cities: Store):
    triangle = [geopoint(30, -125), geopoint(45, -125), geopoint(30, -70)]
    assert cities.find("Item", {"location": {"$geoWithin": {"$polygon": triangle}}}) == ["la", "sf"]


def test_geo_within_polygon_of_lng_lat_pairs_and_polygon_objects(cities: Store):
    pairs = [[-125, 30], [-60, 30], [-60, 45], [-125, 45]]
    assert cities.find("Item", {"location": {"$geoWithin": {"$polygon": pairs}}}) == ["la", "ny", "sf"]
    polygon = {"__type": "Polygon", "coordinates": [[30, -125], [30, -60], [45, -60], [45, -125]]}
    assert cities.find("Item", {"location": {"$geoWithin": {"$polygon": polygon}}}) == ["la", "ny", "sf"]


def test_geo_within_center_sphere(cities: Store):
    radius = 1000 / 6371
    assert cities.find("Item", {"location": {"$geoWithin": {"$centerSphere": [[-122.4194, 37.7749], radius]}}}) == [
        "la",
        "sf",
    ]
    assert cities.find("Item", {"location": {"$geoWithin": {"$centerSphere": [SF, 0.01]}}}) == ["sf"]


def test_geo_intersects_finds_polygons_containing_the_point(store: Store):
    square = {"__type": "Polygon", "coordinates": [[0, 0], [0, 10], [10, 10], [10, 0], [0, 0]]}
    far = {"__type": "Polygon", "coordinates": [[50, 50], [50, 60], [60, 60], [50, 50]]}
    store.put("Item", "square", {"area": square})
    store.put("Item", "far", {"area": far})
    store.put("Item", "broken", {"area": {"__type": "Polygon", "coordinates": "nope"}})
    store.put("Item", "none", {})
    assert store.find("Item", {"area": {"$geoIntersects": {"$point": geopoint(5, 5)}}}) == ["square"]
    assert store.find("Item", {"area": {"$geoIntersects": {"$point": geopoint(52, 55)}}}) == ["far"]
    assert store.find("Item", {"area": {"$geoIntersects": {"$point": geopoint(55, 52)}}}) == []
    assert store.find("Item", {"area": {"$geoIntersects": {"$point": geopoint(-5, 5)}}}) == []


@pytest.mark.parametrize(
    ("constraint", "message"),
    [
        ({"$nearSphere": geopoint(91, 0)}, "bad $nearSphere value; GeoPoint latitude out of bounds: 91"),
        ({"$nearSphere": geopoint(0, 181)}, "bad $nearSphere value; GeoPoint longitude out of bounds: 181"),
        ({"$nearSphere": {"latitude": 1, "longitude": 2}}, "bad $nearSphere value; should be a GeoPoint"),
        ({"$nearSphere": SF, "$maxDistance": -1}, "bad $maxDistance value; should be a non-negative number"),
        ({"$nearSphere": SF, "$maxDistanceInMiles": "5"}, "bad $maxDistanceInMiles value; should be a non-negative"),
        ({"$within": {"$box": [SF]}}, "malformatted $within arg"),
        ({"$within": [SF, SF]}, "malformatted $within arg"),
        ({"$geoWithin": {"$polygon": [SF, SF]}}, "bad $geoWithin value; $polygon should contain at least 3 GeoPoints"),
        ({"$geoWithin": {"$polygon": "x"}}, "bad $geoWithin value; $polygon should be Polygon object or Array"),
        ({"$geoWithin": {"$polygon": {"__type": "Polygon", "coordinates": [[1, 2]]}}}, "bad $geoWithin value; Poly"),
        ({"$geoWithin": {"$centerSphere": [SF]}}, "bad $geoWithin value; $centerSphere should be an array"),
        ({"$geoWithin": {"$centerSphere": [SF, -1]}}, "bad $geoWithin value; $centerSphere distance invalid"),
        ({"$geoWithin": {"$box": [SF, SF]}}, "bad $geoWithin value; use $polygon or $centerSphere"),
        ({"$geoIntersects": {"$point": [1, 2, 3]}}, "bad $geoIntersects value; should be a GeoPoint"),
    ],
)
def test_geo_errors(store: Store, constraint: dict, message: str):
    with pytest.raises(ParseError) as error:
        store.compile("Item", {"location": constraint})
    assert error.value.code == 107
    assert error.value.message.startswith(message)
