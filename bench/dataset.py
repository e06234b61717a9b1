"""The data the data-API workloads read and write, seeded identically into both servers through their own REST API.

Every run creates, on each server and with the same requests:

- three classes through ``POST /schemas/<class>`` (master key), with their fields and
  indexes declared there: ``BenchItem`` (``score`` Number, ``name`` String, index
  ``score_1`` on ``score``), ``BenchComment`` (``n`` Number, ``text`` String, ``item``
  Pointer to BenchItem, index ``n_1`` on ``n``) and ``BenchWrite`` (``score``,
  ``name``; the target of the ``create`` workload);
- ``items`` BenchItems with ``score`` 0..items-1 and ``comments`` BenchComments with
  ``n`` 0..comments-1, each pointing at a BenchItem chosen by a fixed pseudo-random
  sequence (the same item index on both servers), all with the REST key and no ACL,
  so every client can read and write them. They go in ``POST /batch`` requests of 50
  (Hangar's default ``HANGAR_BATCH_LIMIT``; Parse Server has no limit and gets the
  same batches), several batches at a time.

Then both databases are vacuumed and analyzed, so that the planner has statistics for
the fresh tables, and the declared indexes are looked up in ``pg_indexes`` on both:
a run whose peer silently lacks an index would measure a sequential scan.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import psycopg

from bench.servers import MOUNT, Target

ITEM_CLASS = "BenchItem"
COMMENT_CLASS = "BenchComment"
WRITE_CLASS = "BenchWrite"
BATCH_SIZE = 50  # Hangar's default batch limit (HANGAR_BATCH_LIMIT)
SEED_CONCURRENCY = 8  # batches in flight at once while seeding
DEFAULT_ITEMS = 10_000
DEFAULT_COMMENTS = 2_000
_COMMENT_ITEMS_SEED = 20261122  # fixes which item each comment points at, on both servers

# The classes, as POST /schemas bodies (reference section 13.1). Index names are Parse's
# (its Postgres adapter creates `CREATE INDEX "score_1" ON "BenchItem" ("score")`);
# Hangar builds each as a partial expression index on the app's partition.
SCHEMAS: dict[str, dict[str, Any]] = {
    ITEM_CLASS: {
        "fields": {"score": {"type": "Number"}, "name": {"type": "String"}},
        "indexes": {"score_1": {"score": 1}},
    },
    COMMENT_CLASS: {
        "fields": {
            "n": {"type": "Number"}, "text": {"type": "String"},
            "item": {"type": "Pointer", "targetClass": ITEM_CLASS},
        },
        "indexes": {"n_1": {"n": 1}},
    },
    WRITE_CLASS: {"fields": {"score": {"type": "Number"}, "name": {"type": "String"}}},
}  # fmt: skip


class SeedError(RuntimeError):
    """A server refused part of the seed data, or lacks an index it was asked to build."""


@dataclass(frozen=True)
class DatasetSize:
    items: int = DEFAULT_ITEMS
    comments: int = DEFAULT_COMMENTS

    def __post_init__(self) -> None:
        if self.items < 100 or self.comments < 100:
            raise ValueError("the data-API workloads need at least 100 items and 100 comments")


@dataclass(frozen=True)
class SeededUser:
    """A user signed up through ``POST /users``, with the session token the sign-up answered."""

    username: str
    password: str
    session_token: str


@dataclass(frozen=True)
class SeededData:
    """What one server holds after seeding.

    Object ids by position (``items[i]`` has score i, ``comments[j]`` n j), empty when no
    selected workload reads objects; ``users`` (signed up for the users and files
    workloads), ``login_user`` (the user the ``login`` workload logs in) and ``files``
    (payload size -> the path below the mount of the file uploaded with that size, from
    the URL the server answered).
    """

    size: DatasetSize
    items: Sequence[str] = ()
    comments: Sequence[str] = ()
    seconds: float = 0.0
    users: Sequence[SeededUser] = ()
    login_user: SeededUser | None = None
    files: Mapping[int, str] = field(default_factory=dict)


def item_body(index: int) -> dict[str, Any]:
    return {"score": index, "name": f"item-{index:06d}"}


def comment_item_indexes(size: DatasetSize) -> list[int]:
    """Which BenchItem each BenchComment points at: a fixed pseudo-random choice, the same on both servers."""
    rng = random.Random(_COMMENT_ITEMS_SEED)  # noqa: S311 (a reproducible sequence, not a secret)
    return [rng.randrange(size.items) for _ in range(size.comments)]


def pointer(class_name: str, object_id: str) -> dict[str, str]:
    return {"__type": "Pointer", "className": class_name, "objectId": object_id}


def comment_body(index: int, item_id: str) -> dict[str, Any]:
    return {"n": index, "text": f"comment-{index:06d}", "item": pointer(ITEM_CLASS, item_id)}


def schema_request(class_name: str) -> dict[str, Any]:
    """The ``POST /schemas/<class_name>`` body."""
    return {"className": class_name, **SCHEMAS[class_name]}


def batch_requests(class_name: str, bodies: Sequence[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """``POST /batch`` bodies of at most ``BATCH_SIZE`` creates each, in order (reference section 9)."""
    for start in range(0, len(bodies), BATCH_SIZE):
        yield {
            "requests": [
                {"method": "POST", "path": f"{MOUNT}/classes/{class_name}", "body": body}
                for body in bodies[start : start + BATCH_SIZE]
            ]
        }


def created_ids(batch: dict[str, Any], answer: Any) -> list[str]:
    """The object ids a batch answer reports, in request order; SeedError for any failed or missing item."""
    expected = len(batch["requests"])
    if not isinstance(answer, list) or len(answer) != expected:
        raise SeedError(f"a batch of {expected} creates was answered with {str(answer)[:300]}")
    ids = []
    for item in answer:
        success = item.get("success") if isinstance(item, dict) else None
        if not isinstance(success, dict) or not isinstance(success.get("objectId"), str):
            raise SeedError(f"a batch create failed: {str(item)[:300]}")
        ids.append(success["objectId"])
    return ids


async def _create_all(target: Target, class_name: str, bodies: Sequence[dict[str, Any]]) -> list[str]:
    batches = list(batch_requests(class_name, bodies))
    gate = asyncio.Semaphore(SEED_CONCURRENCY)
    headers = target.key_headers("rest")
    async with httpx.AsyncClient(base_url=target.base_url, headers=headers, timeout=60) as client:

        async def send(batch: dict[str, Any]) -> list[str]:
            async with gate:
                response = await client.post("/batch", json=batch)
            if response.status_code != 200:
                raise SeedError(f"{target.kind}: POST /batch answered {response.status_code} {response.text[:300]}")
            return created_ids(batch, response.json())

        answers = await asyncio.gather(*(send(batch) for batch in batches))
    return [object_id for ids in answers for object_id in ids]


def seed(target: Target, size: DatasetSize) -> SeededData:
    """Create the classes (master key) and the objects (REST key, in batches) on one server."""
    started = time.monotonic()
    for class_name in SCHEMAS:
        answer = target.call("POST", f"/schemas/{class_name}", schema_request(class_name))
        declared = SCHEMAS[class_name].get("indexes", {})
        missing = [name for name in declared if name not in (answer.get("indexes") or {})]
        if missing:
            raise SeedError(f"{target.kind}: /schemas/{class_name} answered without the indexes {missing}: {answer}")
    items = asyncio.run(_create_all(target, ITEM_CLASS, [item_body(i) for i in range(size.items)]))
    bodies = [comment_body(n, items[i]) for n, i in enumerate(comment_item_indexes(size))]
    comments = asyncio.run(_create_all(target, COMMENT_CLASS, bodies))
    return SeededData(size=size, items=items, comments=comments, seconds=time.monotonic() - started)


# The declared indexes as each server names them in PostgreSQL: Parse keeps the
# declared name on the class's table; Hangar names an index after the app's partition,
# the lower-cased class and index names and a hash (hangar.datastore.indexes).
def _index_pattern(kind: str, class_name: str, index_name: str) -> tuple[str, str]:
    """``(tablename LIKE, indexname LIKE)`` for pg_indexes."""
    if kind == "parse":
        return class_name, index_name
    return "datastore_object_app%", f"datastore_object_app%\\_{class_name.lower()}\\_{index_name}\\_%"


def declared_indexes() -> list[tuple[str, str]]:
    return [(class_name, name) for class_name, schema in SCHEMAS.items() for name in schema.get("indexes", {})]


def index_usage(kind: str, database_url: str) -> dict[str, dict[str, Any]]:
    """For each declared index: its PostgreSQL name and definition and how often it was scanned so far.

    Raises SeedError when one is missing (a server that does not honour /schemas indexes).
    """
    found: dict[str, dict[str, Any]] = {}
    with psycopg.connect(database_url) as conn:
        for class_name, index_name in declared_indexes():
            table, name = _index_pattern(kind, class_name, index_name)
            row = conn.execute(
                "SELECT i.indexname, i.indexdef, coalesce(s.idx_scan, 0) FROM pg_indexes i "
                "LEFT JOIN pg_stat_user_indexes s ON s.indexrelname = i.indexname AND s.schemaname = i.schemaname "
                "WHERE i.schemaname = 'public' AND i.tablename LIKE %s AND i.indexname LIKE %s",
                [table, name],
            ).fetchone()
            if row is None:
                raise SeedError(f"{kind}: no PostgreSQL index for {class_name}.{index_name} (declared via /schemas)")
            found[f"{class_name}.{index_name}"] = {"name": row[0], "definition": row[1], "scans": int(row[2])}
    return found


def vacuum_analyze(database_url: str) -> None:
    """VACUUM (ANALYZE) the whole (fresh, small) database: statistics for the planner, a settled visibility map."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")


# The users and files workloads (issues 4 and 5). Every user has the same password; the
# sign-ups hash it once per user on each server (Hangar argon2id, Parse bcrypt).
USER_COUNT = 50  # users signed up on each server; users-me rotates over their sessions
USER_PASSWORD = "bench-password-1"  # noqa: S105 (a throwaway benchmark user)
LOGIN_USERNAME = "bench-login"
FILE_NAME = "bench.bin"
FILE_CONTENT_TYPE = "application/octet-stream"
_PAYLOAD_PATTERN = b"0123456789"


def user_name(index: int) -> str:
    return f"bench-user-{index:02d}"


def payload(size: int) -> bytes:
    """The bytes every upload sends and every seeded file holds: ASCII digits, the same on both servers."""
    return (_PAYLOAD_PATTERN * (size // len(_PAYLOAD_PATTERN) + 1))[:size]


def _sign_up(client: httpx.Client, kind: str, username: str) -> SeededUser:
    response = client.post("/users", json={"username": username, "password": USER_PASSWORD})
    token = response.json().get("sessionToken") if response.status_code == 201 else None
    if not isinstance(token, str):
        raise SeedError(f"{kind}: POST /users answered {response.status_code} {response.text[:300]}")
    return SeededUser(username=username, password=USER_PASSWORD, session_token=token)


def seed_users(target: Target, data: SeededData) -> SeededData:
    """Sign up ``USER_COUNT`` users and the login user (REST key, one at a time: each sign-up hashes a password)."""
    started = time.monotonic()
    with httpx.Client(base_url=target.base_url, headers=target.key_headers("rest"), timeout=60) as client:
        users = [_sign_up(client, target.kind, user_name(i)) for i in range(USER_COUNT)]
        login_user = _sign_up(client, target.kind, LOGIN_USERNAME)
    return replace(data, users=users, login_user=login_user, seconds=data.seconds + time.monotonic() - started)


def seed_files(target: Target, data: SeededData, sizes: Sequence[int]) -> SeededData:
    """Upload one file of each size as the first seeded user; keep the path below the mount of its URL."""
    if not data.users:
        raise SeedError(f"{target.kind}: files are uploaded as a seeded user; seed the users first")
    started = time.monotonic()
    headers = {**target.key_headers("rest"), "X-Parse-Session-Token": data.users[0].session_token,
               "Content-Type": FILE_CONTENT_TYPE}  # fmt: skip
    files: dict[int, str] = {}
    for size in sizes:
        response = httpx.post(f"{target.base_url}/files/{FILE_NAME}", content=payload(size), headers=headers,
                              timeout=60)  # fmt: skip
        url = response.json().get("url") if response.status_code == 201 else None
        if not isinstance(url, str) or not url.startswith(target.base_url + "/files/"):
            raise SeedError(f"{target.kind}: POST /files/{FILE_NAME} answered {response.status_code} "
                            f"{response.text[:300]}")  # fmt: skip
        files[size] = url[len(target.base_url) :]
    return replace(data, files=files, seconds=data.seconds + time.monotonic() - started)
