"""The route table, indexed by first path segment, matches exactly what trying every route in order matched."""

from __future__ import annotations

from hangar.gateway.routes import build_router
from hangar.gateway.routing import Router


async def _handler(*args: object) -> None:
    return None


def _named(name: str):  # a distinct handler per route, to tell which one matched
    async def handler(*args: object) -> str:
        return name

    handler.__name__ = name
    return handler


def test_routes_match_in_the_order_they_were_added_whatever_their_first_segment():
    router = Router()
    router.add("GET", "/users/me", _named("me"))
    router.add("GET", "/:anything/special", _named("wildcard"))  # a route starting with a parameter
    router.add("GET", "/users/:objectId", _named("user"))
    router.add("GET", "/late/:x", _named("late"))  # a segment first seen after the wildcard route
    assert router.match("GET", "/users/me")[0].handler.__name__ == "me"
    assert router.match("GET", "/users/special")[0].handler.__name__ == "wildcard"  # added before users/:objectId
    assert router.match("GET", "/users/abc")[0].handler.__name__ == "user"
    assert router.match("GET", "/late/special")[0].handler.__name__ == "wildcard"
    assert router.match("GET", "/other/special")[0].handler.__name__ == "wildcard"
    assert router.match("GET", "/late/1")[0].handler.__name__ == "late"
    assert router.match("POST", "/users/abc") is None
    assert router.match("GET", "/nothing/here") is None
    assert router.match("GET", "") is None


def test_the_parse_routes_are_found_under_their_segment():
    router = build_router()
    _route, params = router.match("POST", "/events/AppOpened")
    assert params == {"eventName": "AppOpened"}
    assert router.match("GET", "/classes/Post/abc123")[1] == {"className": "Post", "objectId": "abc123"}
    assert router.match("GET", "/events/AppOpened") is None  # only POST
    assert router.streams_body("POST", "/files/pic.png")
    assert not router.streams_body("POST", "/events/AppOpened")
    assert router.parses_body("/events/AppOpened")


def test_a_raw_body_route_is_found_under_its_segment():
    router = Router()
    router.add("POST", "/classes/:className", _handler)
    router.add("POST", "/raw/:name", _handler, parse_body=False, streams_body=True)
    assert not router.parses_body("/raw/x")
    assert router.parses_body("/classes/x")
    assert router.streams_body("POST", "/raw/x")
    assert not router.streams_body("PUT", "/raw/x")
