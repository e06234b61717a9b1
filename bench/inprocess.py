"""Hangar's own Python CPU per request, in one process, without an HTTP server.

``make bench`` measures what users see (both servers, wrk, the whole machine); this
measures what a change to Hangar's request path costs, with less noise: the data-API
workloads of bench/README.md are sent straight to the ASGI gateway (``hangar.asgi``),
32 at a time, and the process's CPU time is divided by the requests. PostgreSQL and
Redis are real (a database of its own, ``hangar_inprocess``). ``--profile`` adds a
cProfile table per workload (sorted by own time) under ``bench/.work/``.

    .venv/bin/python bench/inprocess.py [--requests 4000] [--profile] [--seed] [workload ...]

The first run (or ``--seed``) recreates the database and seeds 2,000 items and 500
comments through the API. The figures are Python CPU only: uvicorn's HTTP handling
(about 0.06 ms a request, the ``health`` workload of ``make bench``) and the database's
own work are not in them.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script (bench/inprocess.py): make the `bench` package importable.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import time
from collections.abc import Sequence
from typing import Any

from bench.dataset import (
    COMMENT_CLASS,
    ITEM_CLASS,
    WRITE_CLASS,
    DatasetSize,
    SeededData,
    comment_body,
    comment_item_indexes,
    item_body,
    schema_request,
)
from bench.workloads import workloads_named

REPO_DIR = Path(__file__).resolve().parents[1]
WORK_DIR = REPO_DIR / "bench" / ".work"
STATE_FILE = WORK_DIR / "inprocess-state.json"
DATABASE = os.environ.get("BENCH_INPROCESS_DATABASE", "hangar_inprocess")
CONCURRENCY = 32
WORKLOAD_NAMES = ("get-by-id", "query-indexed", "include", "create", "update", "events")
# POST /parse/events/:eventName as bench/analytics.py sends it (its flushes run in the same loop, so they count).
EVENT_REQUEST: Request = ("POST", "/events/BenchEvent", {"dimensions": {"source": "bench", "plan": "free"}})

SIZE = DatasetSize(items=2000, comments=500)

Request = tuple[str, str, Any]  # method, path below /parse (with its query string), JSON body


def _environment() -> None:
    server = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "hangar.settings", "HANGAR_ENV": "development", "DEBUG": "false",
        "ALLOWED_HOSTS": "*", "DATABASE_URL": f"{server}/{DATABASE}",
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11"),
        "HANGAR_VAR_DIR": str(WORK_DIR / "inprocess-var"), "HANGAR_DEFAULT_PLAN_RPS": "0",
        "LOG_LEVEL": "WARNING", "HANGAR_PUBLIC_URL": "http://127.0.0.1:1",
    })  # fmt: skip
    sys.path.insert(0, str(REPO_DIR / "platform"))


class Gateway:
    """Calls the ASGI application directly with the bench app's REST (or master) key."""

    def __init__(self, application: Any, app_id: str, keys: dict[str, str]) -> None:
        self.application = application
        self.app_id = app_id.encode()
        self.keys = keys

    async def call(self, request: Request, *, master: bool = False) -> tuple[int, bytes]:
        method, target, body = request
        path, _, query = target.partition("?")
        import orjson

        key_header = b"x-parse-master-key" if master else b"x-parse-rest-api-key"
        headers = [
            (b"host", b"bench"), (b"x-parse-application-id", self.app_id),
            (key_header, self.keys["master" if master else "rest"].encode()), (b"content-type", b"application/json"),
        ]  # fmt: skip
        raw = orjson.dumps(body) if body is not None else b""
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
            "path": f"/parse{path}", "raw_path": b"", "query_string": query.encode(), "root_path": "",
            "headers": headers, "client": ("127.0.0.1", 1), "server": ("bench", 1),
        }  # fmt: skip
        delivered = False
        answer: dict[str, Any] = {}

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if delivered:
                await asyncio.Event().wait()  # a client that never disconnects
            delivered = True
            return {"type": "http.request", "body": raw, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
            else:
                answer["body"] = message.get("body", b"")

        await self.application(scope, receive, send)
        return answer["status"], answer["body"]


async def _seed(gateway: Gateway) -> SeededData:
    """The data of ``make bench`` (bench/dataset.py), smaller, created one object at a time."""
    import orjson

    async def create(class_name: str, body: dict[str, Any]) -> str:
        status, answer = await gateway.call(("POST", f"/classes/{class_name}", body))
        if status != 201:
            raise RuntimeError(f"seeding {class_name} answered {status}: {answer[:200]!r}")
        return str(orjson.loads(answer)["objectId"])

    for class_name in (ITEM_CLASS, COMMENT_CLASS, WRITE_CLASS):
        status, answer = await gateway.call(("POST", f"/schemas/{class_name}", schema_request(class_name)), master=True)
        if status != 200:
            raise RuntimeError(f"creating {class_name} answered {status}: {answer[:200]!r}")
    items = [await create(ITEM_CLASS, item_body(i)) for i in range(SIZE.items)]
    comments = [
        await create(COMMENT_CLASS, comment_body(n, items[i])) for n, i in enumerate(comment_item_indexes(SIZE))
    ]
    return SeededData(size=SIZE, items=items, comments=comments)


def workload_requests(data: SeededData, name: str) -> Sequence[Request]:
    """The requests ``make bench`` sends for this workload (bench/workloads.py), for this data."""
    if name == "events":
        return [EVENT_REQUEST]
    [workload] = workloads_named([name])
    assert workload.variants is not None
    return [(workload.method, variant.path, variant.body) for variant in workload.variants(data)]


async def _drive(gateway: Gateway, requests: Sequence[Request], count: int) -> None:
    numbers = iter(range(count))

    async def client() -> None:
        for i in numbers:
            request = requests[i % len(requests)]
            status, answer = await gateway.call(request)
            if status not in (200, 201):
                raise RuntimeError(f"{request[:2]} answered {status}: {answer[:200]!r}")

    await asyncio.gather(*(client() for _ in range(CONCURRENCY)))


def _recreate_database() -> None:
    import psycopg
    from django.conf import settings
    from django.core.management import call_command

    db = settings.DATABASES["default"]
    admin = f"host={db['HOST']} port={db['PORT'] or 5432} user={db['USER']} dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DATABASE}")
    call_command("migrate", "--no-input", "-v", "0")


async def _run(args: argparse.Namespace) -> None:
    from hangar.asgi import application

    state = json.loads(STATE_FILE.read_text()) if STATE_FILE.exists() and not args.seed else None
    if state is None:
        from asgiref.sync import sync_to_async

        from tenants.services.operators import operator_app_create

        app, keys = await sync_to_async(operator_app_create)(
            organization_name="bench", app_name="inprocess", owner_email="bench@example.com"
        )
        gateway = Gateway(application, app.application_id, keys)
        data = await _seed(gateway)
        state = {"application_id": app.application_id, "keys": keys, "items": data.items, "comments": data.comments}
        STATE_FILE.write_text(json.dumps(state))
        await sync_to_async(_analyze)()
    gateway = Gateway(application, state["application_id"], state["keys"])
    data = SeededData(size=SIZE, items=state["items"], comments=state["comments"])
    for name in args.workloads or WORKLOAD_NAMES:
        requests = workload_requests(data, name)
        await _drive(gateway, requests, 300)  # warm: caches, prepared statements, pool
        profile = cProfile.Profile(time.process_time) if args.profile else None
        if profile is not None:
            profile.enable()
        cpu, wall = time.process_time(), time.perf_counter()
        await _drive(gateway, requests, args.requests)
        if name == "events":
            from hangar.analytics.buffer import events_flush

            await events_flush()  # the last partial batch is part of what the events cost
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        if profile is not None:
            profile.disable()
            path = WORK_DIR / f"inprocess-profile-{name}.txt"
            with path.open("w") as out:
                pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(60)
        per_request = cpu / args.requests * 1e6
        print(f"{name:14s} {per_request:7.1f} us CPU/request  {args.requests / wall:7.0f} req/s", flush=True)


def _analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workloads", nargs="*", choices=[[], *WORKLOAD_NAMES], help="default: all")
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--seed", action="store_true", help="recreate the database and seed it again")
    args = parser.parse_args()
    _environment()
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    import django

    django.setup()
    if args.seed or not STATE_FILE.exists():
        args.seed = True
        _recreate_database()
    import uvloop

    uvloop.run(_run(args))


if __name__ == "__main__":
    main()
