"""The Parse route table: (method, path pattern) -> async handler.

Each platform service registers its own routes (hangar.gateway.routes lists them),
so the gateway knows nothing of objects, users or files.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hangar.gateway.auth import AuthContext
    from hangar.gateway.request import ParseRequest
    from hangar.gateway.responses import ParseResponse

Handler = Callable[["ParseRequest", "AuthContext", dict[str, str]], Awaitable["ParseResponse"]]

# Express-style segments from the protocol (reference §1.1).
SEGMENT_PATTERNS = {
    # Any segment: the data services judge the name, so a bad one is Parse's 103, not a 404.
    "className": r"[^/]+",
    "objectId": r"[A-Za-z0-9]+",
    "name": r"[^/]+",
    # A cloud-code file's path inside its bundle (``/scripts/lib/util.py``).
    "scriptPath": r"[^?#]+",
}


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    parse_body: bool = True
    # The handler reads the body itself from ``request.body_stream`` (file uploads):
    # the gateway neither buffers it nor applies HANGAR_MAX_REQUEST_BYTES to it.
    streams_body: bool = False
    # The app comes from this path parameter and no key is checked (file downloads, §11).
    app_param: str | None = None
    # Whether a /batch item may name it: only routes whose answer is JSON (Parse Server's
    # batch reaches its API routers only, not files).
    batchable: bool = True
    # A GET whose unbound reads may go to a read replica for client keys (hangar.read_replicas).
    replica_reads: bool = False


def compile_path(path: str) -> re.Pattern[str]:
    """``/classes/:className/:objectId`` -> a regex with named groups; a trailing slash is tolerated."""

    def segment(part: str) -> str:
        if part.startswith(":"):
            name = part[1:]
            return f"(?P<{name}>{SEGMENT_PATTERNS.get(name, '[^/]+')})"
        return re.escape(part)

    body = "/".join(segment(part) for part in path.strip("/").split("/"))
    return re.compile(f"^/{body}/?$")


def _first_segment(path: str) -> str:
    """``/classes/Post/abc`` -> ``classes`` (paths relative to the mount always start with "/")."""
    return path.split("/", 2)[1] if path.startswith("/") else ""


class Router:
    """Routes in the order they were added, indexed by their first path segment.

    A request's path names its route's first segment literally (``/events/...``), so only the
    few routes under that segment are matched against it, not the whole table: trying every
    pattern in turn was 25 regex matches for a ``POST /events`` (the last route added).
    """

    def __init__(self) -> None:
        self._routes: list[Route] = []
        self._by_segment: dict[str, list[Route]] = {}
        self._any_segment: list[Route] = []  # routes whose path starts with a parameter

    def add(
        self, method: str, path: str, handler: Handler, *, parse_body: bool = True, streams_body: bool = False,
        app_param: str | None = None, batchable: bool = True, replica_reads: bool = False,
    ) -> None:  # fmt: skip
        pattern = compile_path(path)
        route = Route(method, pattern, handler, parse_body, streams_body, app_param, batchable, replica_reads)
        self._routes.append(route)
        first = path.strip("/").split("/", 1)[0]
        if first.startswith(":"):
            self._any_segment.append(route)
            for routes in self._by_segment.values():
                routes.append(route)
        else:
            self._by_segment.setdefault(first, list(self._any_segment)).append(route)

    def _candidates(self, path: str) -> list[Route]:
        """The routes that may match ``path``, in the order they were added."""
        return self._by_segment.get(_first_segment(path), self._any_segment)

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self._candidates(path):
            if route.method != method:
                continue
            found = route.pattern.match(path)
            if found:
                return route, found.groupdict()
        return None

    def streams_body(self, method: str, path: str) -> bool:
        """Whether the route for this request reads its own body (only streaming routes are tried)."""
        return any(r.streams_body and r.method == method and r.pattern.match(path) for r in self._candidates(path))

    def parses_body(self, path: str) -> bool:
        """Whether every route at this path wants its body decoded as JSON (files do not)."""
        return not any(not route.parse_body and route.pattern.match(path) for route in self._candidates(path))
