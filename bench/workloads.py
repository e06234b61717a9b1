"""What the benchmark sends: one small declarative entry per workload, the same on both servers.

A workload names an HTTP method, which Parse keys to present and optionally extra
headers, and then either one fixed request (``path`` below the Parse mount and
``body``) or a ``variants`` builder. The builder gets the data seeded into a server
(``bench.dataset.SeededData``: object ids by position) and returns that server's list of
requests, which wrk cycles through (bench/wrk/request.lua). Builders pick positions
with fixed pseudo-random sequences, so both servers get the same requests apart from
the object ids each generated: the same ``score`` values, the same query bounds, the
same bodies.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote, urlencode, urlsplit

from bench.dataset import (
    COMMENT_CLASS,
    FILE_CONTENT_TYPE,
    FILE_NAME,
    ITEM_CLASS,
    WRITE_CLASS,
    SeededData,
    SeededUser,
    payload,
)
from bench.servers import Target

KeyKind = Literal["none", "rest", "master"]
METHODS = ("GET", "POST", "PUT", "DELETE")
PAGE = 20  # limit of the query workloads
QUERY_VARIANTS = 1000  # distinct query bounds / create bodies per run; get and update use every seeded id


@dataclass(frozen=True)
class Variant:
    """One request of a workload: a path below the mount (with its query string) and a JSON body or None."""

    path: str
    body: Any = None  # JSON-encoded; bytes go as they are (a file upload)
    headers: Mapping[str, str] = field(default_factory=dict)  # e.g. the session token of one user


@dataclass(frozen=True)
class HttpRequest:
    """What wrk replays against one server: the first request, and all of them when they vary.

    ``variants`` holds ``(path from the root with query string, encoded body)`` pairs;
    empty for a fixed request, which request.lua then sends without any Lua per request.
    ``variant_headers`` (empty, or one per variant) are headers of each variant.
    """

    method: str
    url: str
    headers: Mapping[str, str]
    body: str
    variants: tuple[tuple[str, str], ...] = ()
    variant_headers: tuple[Mapping[str, str], ...] = ()


@dataclass(frozen=True)
class Workload:
    name: str
    method: str
    about: str
    keys: KeyKind = "none"
    headers: Mapping[str, str] = field(default_factory=dict)
    path: str = ""  # a fixed request: below the mount
    body: Any = None  # JSON-encoded when not None
    variants: Callable[[SeededData], Sequence[Variant]] | None = None  # varying requests over the seeded data
    # The guard (bench/guard.py) requires both servers' sample answers to be equal but for
    # objectId/createdAt/updatedAt; off where the servers legitimately differ (serverInfo).
    same_body: bool = False
    # What the builder needs seeded: "objects" (the BenchItem/BenchComment data), "users"
    # (signed-up users and their sessions), "files" (one uploaded file per size).
    seeds: frozenset[str] = frozenset()
    # Bytes of file content each request moves (uploads and downloads): the report adds MB/s.
    payload_bytes: int = 0
    # Keys every server's sample answer must hold (the guard checks them, e.g. an upload's url).
    answer_keys: tuple[str, ...] = ()
    # Top-level keys of the answers the guard does not compare (only where the servers differ in form).
    ignored_keys: frozenset[str] = frozenset()
    # At most this many wrk connections (the same on both servers); None: --connections.
    max_connections: int | None = None
    # Needs the bench's cloud code on both servers (bench/cloudcode.py: Hangar's bundle
    # deployed, Parse Server started with its ``cloud`` option, the Guarded class declared).
    cloud_code: bool = False

    @property
    def needs_data(self) -> bool:
        return self.variants is not None

    def connections(self, requested: int) -> int:
        return min(requested, self.max_connections) if self.max_connections else requested

    def requests(self, data: SeededData | None) -> list[Variant]:
        """The requests of this workload against a server holding ``data``."""
        if self.variants is None:
            return [Variant(self.path, self.body)]
        if data is None:
            raise ValueError(f"workload {self.name} needs seeded data")
        return list(self.variants(data))

    def prepare(self, target: Target, data: SeededData | None = None) -> HttpRequest:
        """The request(s) to replay against ``target`` (which holds ``data`` when the workload needs it)."""
        requests = self.requests(data)
        headers = {**target.key_headers(self.keys), **self.headers, **requests[0].headers}
        if any(request.body is not None for request in requests):
            headers.setdefault("Content-Type", "application/json")
        mount = urlsplit(target.base_url).path
        encoded = tuple((mount + request.path, encode_body(request.body)) for request in requests)
        varies = len(requests) > 1  # one request, even one built from the seeded data, is replayed as is
        return HttpRequest(
            method=self.method, url=target.base_url + requests[0].path, headers=headers, body=encoded[0][1],
            variants=encoded if varies else (),
            variant_headers=tuple(request.headers for request in requests)
            if varies and any(request.headers for request in requests) else (),
        )  # fmt: skip


def encode_body(body: Any) -> str:
    """The body as wrk sends it: JSON, or raw bytes (ASCII, like the upload payload) as they are."""
    if isinstance(body, bytes):
        return body.decode("ascii")
    return "" if body is None else json.dumps(body, separators=(",", ":"))


def query_path(class_name: str, **params: Any) -> str:
    """``/classes/<class_name>?...`` with JSON parameters (``where``) encoded the way the SDKs send them."""
    encoded = {name: json.dumps(value, separators=(",", ":")) if isinstance(value, dict) else str(value)
               for name, value in params.items()}  # fmt: skip
    return f"/classes/{class_name}?" + urlencode(encoded, quote_via=quote)


def _positions(count: int, seed: str) -> list[int]:
    """0..count-1 in a fixed pseudo-random order: ids are visited all over the table, the same order on both."""
    order = list(range(count))
    random.Random(seed).shuffle(order)  # noqa: S311 (reproducible on purpose)
    return order


def _bounds(highest: int, seed: str) -> list[int]:
    """QUERY_VARIANTS fixed pseudo-random lower bounds in 0..highest, so that every query fills a page."""
    rng = random.Random(seed)  # noqa: S311 (reproducible on purpose)
    return [rng.randint(0, highest) for _ in range(QUERY_VARIANTS)]


def _get_by_id(data: SeededData) -> list[Variant]:
    return [Variant(f"/classes/{ITEM_CLASS}/{data.items[i]}") for i in _positions(len(data.items), "get-by-id")]


def _query_indexed(data: SeededData) -> list[Variant]:
    return [
        Variant(query_path(ITEM_CLASS, where={"score": {"$gte": x}}, order="score", limit=PAGE))
        for x in _bounds(len(data.items) - PAGE, "query-indexed")
    ]


def _include(data: SeededData) -> list[Variant]:
    return [
        Variant(query_path(COMMENT_CLASS, where={"n": {"$gte": x}}, order="n", limit=PAGE, include="item"))
        for x in _bounds(len(data.comments) - PAGE, "include")
    ]


def _create(data: SeededData) -> list[Variant]:
    return [Variant(f"/classes/{WRITE_CLASS}", {"score": n, "name": f"write-{n:06d}"}) for n in range(QUERY_VARIANTS)]


INCREMENT = {"score": {"__op": "Increment", "amount": 1}}


def _update(data: SeededData) -> list[Variant]:
    return [Variant(f"/classes/{ITEM_CLASS}/{data.items[i]}", INCREMENT) for i in _positions(len(data.items), "update")]


SESSION_HEADER = "X-Parse-Session-Token"
MB = 1_000_000  # the files workloads' sizes and MB/s are decimal megabytes
FILE_SIZES = (1 * MB, 10 * MB)
LARGE_FILE_CONNECTIONS = 16  # the 10 MB workloads: 16 x 10 MB in flight per server, not 64
# login: each request costs a password hash (tens of ms of CPU); 64 connections leave a
# backlog that outlives wrk's warm-up and stalls the measured run.
LOGIN_CONNECTIONS = 8


def _login_user(data: SeededData) -> SeededUser:
    if data.login_user is None:
        raise ValueError("the login workload needs the seeded login user")
    return data.login_user


def _login(data: SeededData) -> list[Variant]:
    user = _login_user(data)
    return [Variant("/login", {"username": user.username, "password": user.password})]


def _users_me(data: SeededData) -> list[Variant]:
    if len(data.users) < 2:
        raise ValueError("the users-me workload needs the seeded users")
    return [Variant("/users/me", headers={SESSION_HEADER: user.session_token}) for user in data.users]


def _upload(size: int) -> Callable[[SeededData], list[Variant]]:
    def build(data: SeededData) -> list[Variant]:
        if not data.users:
            raise ValueError("the upload workloads need a seeded user")
        return [Variant(f"/files/{FILE_NAME}", payload(size), headers={SESSION_HEADER: data.users[0].session_token})]

    return build


def _download(size: int) -> Callable[[SeededData], list[Variant]]:
    def build(data: SeededData) -> list[Variant]:
        if size not in data.files:
            raise ValueError(f"the download workloads need a seeded file of {size} bytes")
        return [Variant(data.files[size])]

    return build


def _files_workloads() -> list[Workload]:
    workloads = []
    for size in FILE_SIZES:
        label = f"{size // MB}mb"
        limit = LARGE_FILE_CONNECTIONS if size >= 10 * MB else None
        workloads.append(Workload(
            name=f"upload-{label}", method="POST", keys="rest", headers={"Content-Type": FILE_CONTENT_TYPE},
            variants=_upload(size), seeds=frozenset({"users"}), answer_keys=("name", "url"),
            payload_bytes=size, max_connections=limit,
            about=f"POST /parse/files/{FILE_NAME}, {size} raw bytes (application/octet-stream), REST key and "
            "the session token of a seeded user",
        ))  # fmt: skip
    for size in FILE_SIZES:
        label = f"{size // MB}mb"
        limit = LARGE_FILE_CONNECTIONS if size >= 10 * MB else None
        workloads.append(Workload(
            name=f"download-{label}", method="GET", same_body=True, variants=_download(size),
            seeds=frozenset({"users", "files"}), payload_bytes=size, max_connections=limit,
            about=f"GET of the {size}-byte file uploaded while seeding, at the URL the server answered, no keys",
        ))  # fmt: skip
    return workloads


# The cloud-code workloads' requests; the handlers that answer them are in bench/cloud/.
HELLO_PARAMS = {"name": "bench"}
GUARDED_CLASS = "Guarded"
GUARDED_BODY = {"score": 7, "name": "guarded"}


def _data_api(name: str, method: str, variants: Callable[[SeededData], Sequence[Variant]], about: str) -> Workload:
    """A data-API workload: the REST key as apps send it, over the seeded objects, equal answers required."""
    return Workload(
        name=name,
        method=method,
        keys="rest",
        same_body=True,
        seeds=frozenset({"objects"}),
        variants=variants,
        about=about,
    )


WORKLOADS: tuple[Workload, ...] = (
    Workload(
        name="health",
        method="GET",
        path="/health",
        about="GET /parse/health without keys: the HTTP stack alone, answered before any key check",
    ),
    Workload(
        name="server-info",
        method="GET",
        path="/serverInfo",
        keys="master",
        about="GET /parse/serverInfo with the master key: the full auth path (Hangar: app cache + Redis pipeline)",
    ),
    # The data API (issue 3), with the REST key as apps send it. Reads come before
    # writes: `update` changes the `score` that `query-indexed` reads.
    _data_api(
        "get-by-id",
        "GET",
        _get_by_id,
        "GET /parse/classes/BenchItem/<id>, cycling through every seeded item in a shuffled order",
    ),
    _data_api(
        "query-indexed",
        "GET",
        _query_indexed,
        'GET /parse/classes/BenchItem?where={"score":{"$gte":X}}&order=score&limit=20, 1000 bounds X, '
        "on the score_1 index declared through /schemas",
    ),
    _data_api(
        "include",
        "GET",
        _include,
        'GET /parse/classes/BenchComment?where={"n":{"$gte":X}}&order=n&limit=20&include=item, '
        "1000 bounds X (index n_1): 20 comments and the items they point at",
    ),
    _data_api("create", "POST", _create, 'POST /parse/classes/BenchWrite {"score":n,"name":"write-n"}, 1000 bodies'),
    _data_api(
        "update",
        "PUT",
        _update,
        'PUT /parse/classes/BenchItem/<id> {"score":{"__op":"Increment","amount":1}}, every seeded item '
        "in a shuffled order",
    ),
    # Users (issue 4): every login verifies a password hash, every users/me looks up a session.
    Workload(
        name="login",
        method="POST",
        keys="rest",
        same_body=True,
        seeds=frozenset({"users"}),
        answer_keys=("username", "sessionToken"),
        max_connections=LOGIN_CONNECTIONS,
        variants=_login,
        about='POST /parse/login {"username","password"} of one seeded user: a password hash verified per '
        "request (Hangar argon2id, Parse bcrypt) and a new session",
    ),
    Workload(
        name="users-me",
        method="GET",
        keys="rest",
        same_body=True,
        seeds=frozenset({"users"}),
        answer_keys=("username", "sessionToken"),
        # Hangar marks the user "__type":"Object","className":"_User" (reference section 10.4);
        # Parse Server 9.10.0 answers the bare user. The user fields are compared.
        ignored_keys=frozenset({"__type", "className"}),
        variants=_users_me,
        about="GET /parse/users/me with X-Parse-Session-Token, rotating over the sessions of the 50 seeded users",
    ),
    # Files (issue 5): throughput of raw uploads and downloads, each server on its local disk.
    *_files_workloads(),
    # Cloud code (issue 13): Hangar's sandboxed workers against Parse Server's in-process
    # handlers, the same handlers on both (bench/cloud/). The cold start is not a wrk
    # workload (bench/run.py, COLD_START).
    Workload(
        name="cloud-hello",
        method="POST",
        keys="rest",
        path="/functions/hello",
        body=HELLO_PARAMS,
        same_body=True,
        cloud_code=True,
        about='POST /parse/functions/hello {"name":"bench"}: a warm cloud function that answers a greeting '
        "(Hangar: a sandboxed worker of the pool; Parse: in-process JavaScript)",
    ),
    Workload(
        name="cloud-before-save",
        method="POST",
        keys="rest",
        path=f"/classes/{GUARDED_CLASS}",
        body=GUARDED_BODY,
        same_body=True,
        # Parse echoes the fields a beforeSave changed in the create answer; Hangar may not:
        # bench/cloudcode.prepare_cloud reads the stored object back on both instead.
        ignored_keys=frozenset({"checked"}),
        cloud_code=True,
        about='POST /parse/classes/Guarded {"score":7,"name":"guarded"}: a create whose beforeSave checks '
        "score and sets checked",
    ),
)


def workloads_named(names: list[str] | None) -> list[Workload]:
    """The workloads to run, in the order given (all of them when ``names`` is None)."""
    if not names:
        return list(WORKLOADS)
    by_name = {workload.name: workload for workload in WORKLOADS}
    unknown = [name for name in names if name not in by_name]
    if unknown:
        raise ValueError(f"unknown workload(s) {', '.join(unknown)}; known: {', '.join(by_name)}")
    return [by_name[name] for name in names]
