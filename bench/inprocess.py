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

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

REPO_DIR = Path(__file__).resolve().parents[1]
WORK_DIR = REPO_DIR / "bench" / ".work"
STATE_FILE = WORK_DIR / "inprocess-state.json"
DATABASE = "hangar_inprocess"
CONCURRENCY = 32
WORKLOAD_NAMES = ("get-by-id", "query-indexed", "include", "create", "update")

Request = tuple[str, str, Any, bytes]  # method, path below /parse, JSON body, query string


def _environment() -> None:
    server = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "hangar.settings", "HANGAR_ENV": "development", "DEBUG": "false",
        "ALLOWED_HOSTS": "*", "DATABASE_URL": f"{server}/{DATABASE}",
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11"),
        "HANGAR_VAR_DIR": str(WORK_DIR / "inprocess-var"), "HANGAR_DEFAULT_PLAN_RPS": "0",
        "LOG_LEVEL": "WARNING", "HANGAR_PUBLIC_URL": "http://127.0.0.1:1",
    })  # fmt: skip
    sys.path[:0] = [str(REPO_DIR / "platform"), str(REPO_DIR)]


class Gateway:
    """Calls the ASGI application directly with the bench app's REST (or master) key."""

    def __init__(self, application: Any, app_id: str, keys: dict[str, str]) -> None:
        self.application = application
        self.app_id = app_id.encode()
        self.keys = keys

    async def call(self, request: Request, *, master: bool = False) -> tuple[int, bytes]:
        method, path, body, query = request
        import orjson

        key_header = b"x-parse-master-key" if master else b"x-parse-rest-api-key"
        headers = [
            (b"host", b"bench"), (b"x-parse-application-id", self.app_id),
            (key_header, self.keys["master" if master else "rest"].encode()), (b"content-type", b"application/json"),
        ]  # fmt: skip
        raw = orjson.dumps(body) if body is not None else b""
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
            "path": f"/parse{path}", "raw_path": b"", "query_string": query, "root_path": "", "headers": headers,
            "client": ("127.0.0.1", 1), "server": ("bench", 1),
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


async def _seed(gateway: Gateway) -> list[str]:
    import orjson

    classes = {
        "BenchItem": ({"score": {"type": "Number"}, "name": {"type": "String"}}, {"score_1": {"score": 1}}),
        "BenchComment": (
            {"n": {"type": "Number"}, "text": {"type": "String"},
             "item": {"type": "Pointer", "targetClass": "BenchItem"}},
            {"n_1": {"n": 1}},
        ),
        "BenchWrite": ({"score": {"type": "Number"}, "name": {"type": "String"}}, {}),
    }  # fmt: skip
    for name, (fields, indexes) in classes.items():
        body = {"className": name, "fields": fields, "indexes": indexes}
        status, answer = await gateway.call(("POST", f"/schemas/{name}", body, b""), master=True)
        assert status == 200, answer
    items = []
    for i in range(2000):
        status, answer = await gateway.call(("POST", "/classes/BenchItem", {"score": i, "name": f"item-{i}"}, b""))
        items.append(orjson.loads(answer)["objectId"])
    for i in range(500):
        pointer = {"__type": "Pointer", "className": "BenchItem", "objectId": items[i]}
        await gateway.call(("POST", "/classes/BenchComment", {"n": i, "text": f"comment-{i}", "item": pointer}, b""))
    return items


def _query(where: dict[str, Any], order: str, **extra: str) -> bytes:
    return urlencode({"where": json.dumps(where), "order": order, "limit": "20", **extra}).encode()


def workloads(items: list[str]) -> dict[str, Callable[[int], Request]]:
    return {
        "get-by-id": lambda i: ("GET", f"/classes/BenchItem/{items[i % len(items)]}", None, b""),
        "query-indexed": lambda i: ("GET", "/classes/BenchItem", None, _query({"score": {"$gte": i % 1980}}, "score")),
        "include": lambda i: (
            "GET", "/classes/BenchComment", None, _query({"n": {"$gte": i % 480}}, "n", include="item"),
        ),  # fmt: skip
        "create": lambda i: ("POST", "/classes/BenchWrite", {"score": i, "name": f"write-{i}"}, b""),
        "update": lambda i: (
            "PUT", f"/classes/BenchItem/{items[i % len(items)]}", {"score": {"__op": "Increment", "amount": 1}}, b"",
        ),  # fmt: skip
    }


async def _drive(gateway: Gateway, build: Callable[[int], Request], count: int) -> None:
    numbers = iter(range(count))

    async def client() -> None:
        for i in numbers:
            status, answer = await gateway.call(build(i))
            if status not in (200, 201):
                raise RuntimeError(f"{build(i)[:2]} answered {status}: {answer[:200]!r}")

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
        items = await _seed(gateway)
        state = {"application_id": app.application_id, "keys": keys, "items": items}
        STATE_FILE.write_text(json.dumps(state))
        await sync_to_async(_analyze)()
    gateway = Gateway(application, state["application_id"], state["keys"])
    chosen = workloads(state["items"])
    for name in args.workloads or list(chosen):
        build = chosen[name]
        await _drive(gateway, build, 300)  # warm: caches, prepared statements, pool
        profile = cProfile.Profile(time.process_time) if args.profile else None
        if profile is not None:
            profile.enable()
        cpu, wall = time.process_time(), time.perf_counter()
        await _drive(gateway, build, args.requests)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        if profile is not None:
            profile.disable()
            path = WORK_DIR / f"inprocess-profile-{name}.txt"
            with path.open("w") as out:
                pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(60)
        print(f"{name:14s} {cpu / args.requests * 1e6:7.1f} us CPU/request  {args.requests / wall:7.0f} req/s", flush=True)


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
