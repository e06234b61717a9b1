"""Generated SDKs: generation time for a schema of many classes, and the Python client's overhead over raw HTTP.

Generation: an in-memory app of ``--classes`` classes (every field type, pointers between classes) and
three typed functions; each of the OpenAPI document and the Python, TypeScript and Java sources is
generated ``--rounds`` times and the best round counts (target: all four under 2 s together). The
packages are timed once apart: the wheel, and the npm tarball and jar with their compilers (tsc, javac)
when this machine has them, compilation being the compilers' own time.

Overhead: Hangar with two uvicorn workers (bench/servers.py, the bench app, a fresh database) serves a seeded
BenchItem; the same GET-by-id and the same indexed-style query are sent ``--requests`` times, one after
the other on one keep-alive connection, by raw httpx and by the generated Python client (which also
decodes each answer into typed objects). Rounds alternate; the best req/s of each counts
(target: the client under 10% slower).

    .venv/bin/python bench/sdk.py [--classes 50] [--requests 2000] [--skip-overhead]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parents[1] / "platform")]

from bench.databases import database_recreate, redis_flush  # noqa: E402
from bench.servers import start_hangar  # noqa: E402

GENERATION_TARGET_SECONDS = 2.0
OVERHEAD_TARGET_PERCENT = 10.0
DATABASE = "hangar_bench_sdk"
LANGUAGES = ("python", "typescript", "java", "openapi")
TYPES = ["String", "Number", "Boolean", "Date", "Object", "Array", "File", "GeoPoint", "Polygon", "Bytes"]


def bench_schemas(classes: int) -> dict[str, dict[str, Any]]:
    """``classes`` classes of 12 fields each: every scalar type, a pointer to the previous class, a relation."""
    schemas: dict[str, dict[str, Any]] = {"_User": {"username": {"type": "String"}, "email": {"type": "String"}}}
    for n in range(classes):
        fields: dict[str, Any] = {f"{kind.lower()}Field": {"type": kind} for kind in TYPES}
        fields["parent"] = {"type": "Pointer", "targetClass": f"Class{n - 1:03d}" if n else "_User"}
        fields["members"] = {"type": "Relation", "targetClass": "_User"}
        schemas[f"Class{n:03d}"] = fields
    return schemas


HANDLERS = {
    "functions": [
        {"name": "total", "params": {"price": "float", "count": "int"}, "returns": "float"},
        {"name": "greet", "params": {"name": "str"}, "returns": "str"},
        {"name": "anything", "params": {}, "returns": "any"},
    ]
}


def _server_cpu() -> dict[int, float]:
    """CPU seconds used so far by each running warm compiler (they are this process's children)."""
    from sdk_gen.compilers import JAVAC, TSC

    ticks = os.sysconf("SC_CLK_TCK")
    seconds = {}
    for pid in (JAVAC.pid, TSC.pid):
        with contextlib.suppress(OSError, TypeError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            seconds[pid] = (int(fields[11]) + int(fields[12])) / ticks
    return seconds


def _timed_packages(spec: Any) -> tuple[float, float]:
    """(wall, CPU) seconds of every download of one app: wheel, npm tarball, jar and OpenAPI, built together.

    CPU counts this process and the compiler processes (a compiler started during the build counts whole).
    """
    from sdk_gen.generate import packages_for

    before, cpu_before = _server_cpu(), time.process_time()
    started = time.perf_counter()
    built = packages_for(spec, languages=LANGUAGES, version="1.1.0", server_url="http://127.0.0.1/parse")
    wall = time.perf_counter() - started
    after = _server_cpu()
    cpu = time.process_time() - cpu_before + sum(t - before.get(pid, 0.0) for pid, t in after.items())
    assert set(built) == set(LANGUAGES)
    return wall, cpu


def measure_generation(classes: int, rounds: int) -> dict[str, Any]:
    from django.test import override_settings

    from sdk_gen.compilers import JAVAC, TSC
    from sdk_gen.generate import compilers_warm, sources_for
    from sdk_gen.spec import app_spec_build

    spec = app_spec_build(app_name="bench", application_id="bench", schemas=bench_schemas(classes), handlers=HANDLERS)
    best: dict[str, float] = {}
    for _ in range(rounds):
        for language in ("openapi", "python", "typescript", "java"):
            started = time.perf_counter()
            files = sources_for(spec, language=language, version="1.1.0", server_url="http://127.0.0.1/parse")
            elapsed = time.perf_counter() - started
            best[language] = min(best.get(language, elapsed), elapsed)
            assert files
    JAVAC.stop(), TSC.stop()
    with tempfile.TemporaryDirectory() as empty, override_settings(VAR_DIR=Path(empty)):
        # Nothing cached: the javac server's class and the TypeScript runtime are compiled first.
        first_ever = _timed_packages(spec)
        JAVAC.stop(), TSC.stop()
        # A new worker process: the caches are there, the compilers start cold.
        fresh_worker = _timed_packages(spec)
        # What HANGAR_SDK_WARM_COMPILERS does when a worker process starts.
        compilers_warm()
        warm = [_timed_packages(spec) for _ in range(max(rounds, 5))]
    JAVAC.stop(), TSC.stop()
    return {"classes": classes, "sources_seconds": best, "total_seconds": sum(best.values()),
            "first_ever": first_ever, "fresh_worker": fresh_worker, "warm": warm}  # fmt: skip


def _rate(call: Callable[[], object], requests: int) -> tuple[float, float]:
    """(requests per second, this process's CPU microseconds per request)."""
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(requests):
        call()
    return requests / (time.perf_counter() - started), (time.process_time() - cpu) / requests * 1e6


def _sdk_module(application_id: str, work: Path) -> Any:
    """The generated Python SDK of the bench app's BenchItem class, imported from ``work``."""
    from sdk_gen.languages.python import python_sources
    from sdk_gen.spec import app_spec_build

    schemas = {"BenchItem": {"score": {"type": "Number"}, "name": {"type": "String"}}}
    spec = app_spec_build(app_name="bench", application_id=application_id, schemas=schemas, handlers={})
    for relative, text in python_sources(spec, version="1.1.0").items():
        path = work / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    sys.path.insert(0, str(work))
    return importlib.import_module("bench_sdk")


def measure_overhead(args: argparse.Namespace) -> dict[str, Any]:
    redis_flush(args.redis)
    database_url = database_recreate(server_url=args.postgres, name=args.database)
    with contextlib.ExitStack() as stack:
        hangar = start_hangar(database_url=database_url, redis_url=args.redis, workers=2, log_name="hangar-sdk")
        stack.callback(hangar.process.stop)
        base, app_id = hangar.base_url, hangar.application_id
        headers = {"X-Parse-Application-Id": app_id, "X-Parse-REST-API-Key": hangar.keys["rest"]}
        master = {"X-Parse-Application-Id": app_id, "X-Parse-Master-Key": hangar.keys["master"]}
        for n in range(20):
            created = httpx.post(f"{base}/classes/BenchItem", json={"score": n, "name": f"item-{n}"}, headers=master)
            created.raise_for_status()
        object_id = created.json()["objectId"]
        sdk = _sdk_module(app_id, Path(stack.enter_context(tempfile.TemporaryDirectory())))
        client = stack.enter_context(sdk.Client(sdk.Config(server_url=base, application_id=app_id,
                                                           rest_key=hangar.keys["rest"])))  # fmt: skip
        raw = stack.enter_context(httpx.Client(base_url=base, headers=headers))
        where = json.dumps({"score": {"$gte": 10}}, separators=(",", ":"))
        workloads: dict[str, tuple[Callable[[], object], Callable[[], object]]] = {
            "get-by-id": (
                lambda: raw.get(f"/classes/BenchItem/{object_id}").raise_for_status().json(),
                lambda: client.get(sdk.BenchItem, object_id),
            ),
            "query": (
                lambda: raw.get("/classes/BenchItem", params={"where": where, "limit": "5"}).raise_for_status().json(),
                lambda: client.query(sdk.BenchItem).where(sdk.BenchItem.q.score.gte(10)).limit(5).find(),
            ),
        }
        results = {}
        for name, (raw_call, sdk_call) in workloads.items():
            _rate(raw_call, 100), _rate(sdk_call, 100)  # warm-up: connections, caches
            raw_best = sdk_best = 0.0
            raw_cpu, sdk_cpu = [], []
            for _ in range(args.rounds):
                rate, cpu = _rate(raw_call, args.requests)
                raw_best, raw_cpu = max(raw_best, rate), [*raw_cpu, cpu]
                rate, cpu = _rate(sdk_call, args.requests)
                sdk_best, sdk_cpu = max(sdk_best, rate), [*sdk_cpu, cpu]
            results[name] = {"raw_rps": raw_best, "sdk_rps": sdk_best,
                             "overhead_percent": 100 * (raw_best - sdk_best) / raw_best,
                             "raw_cpu_us": min(raw_cpu), "sdk_cpu_us": min(sdk_cpu)}  # fmt: skip
        return results


def render(generation: dict[str, Any], overhead: dict[str, Any] | None) -> str:
    sources = generation["sources_seconds"]
    warm = sorted(generation["warm"])
    median_wall, median_cpu = warm[len(warm) // 2][0], statistics.median(cpu for _, cpu in warm)
    verdict = "met" if median_wall < GENERATION_TARGET_SECONDS else "MISSED"
    lines = [
        f"sources alone for {generation['classes']} classes (best round, seconds): "
        + ", ".join(f"{k} {v:.3f}" for k, v in sources.items()),
        "every package of the app (wheel, npm tarball with dist/*.js and .d.ts, jar with classes, OpenAPI), "
        "compilers included, wall s / CPU s (this process and the compilers):",
        "  first ever (empty cache: the javac server and the TypeScript runtime compiled first): "
        "{:.2f} / {:.2f}".format(*generation["first_ever"]),
        "  first in a new worker process (compilers started cold): {:.2f} / {:.2f}".format(*generation["fresh_worker"]),
        f"  warm compilers (after the warm-up), {len(warm)} apps: median {median_wall:.2f} / {median_cpu:.2f}, "
        f"best {warm[0][0]:.2f}, worst {warm[-1][0]:.2f} wall (target < 2 s: {verdict})",
    ]
    for name, row in (overhead or {}).items():
        verdict = "met" if row["overhead_percent"] < OVERHEAD_TARGET_PERCENT else "MISSED"
        lines.append(
            f"{name}: raw httpx {row['raw_rps']:.0f} req/s, generated client {row['sdk_rps']:.0f} req/s, "
            f"overhead {row['overhead_percent']:.1f}% (target < 10%: {verdict}); client CPU per request: "
            f"raw {row['raw_cpu_us']:.0f} µs, generated {row['sdk_cpu_us']:.0f} µs"
        )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/sdk.py", description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--classes", type=int, default=50)
    add("--rounds", type=int, default=3)
    add("--requests", type=int, default=2000, help="requests per round and client (default 2000)")
    add("--skip-overhead", action="store_true", help="time generation only (no server)")
    add("--postgres", default="postgresql://postgres@127.0.0.1:5432", help="PostgreSQL server URL (no database)")
    add("--database", default=DATABASE, help=f"database made afresh for the server (default {DATABASE})")
    add("--redis", default="redis://127.0.0.1:6379/14", help="Hangar's Redis database; emptied at the start")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    import django

    args = parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hangar.settings_test")
    django.setup()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # the test settings log every request
    generation = measure_generation(args.classes, args.rounds)
    overhead = None if args.skip_overhead else measure_overhead(args)
    print(render(generation, overhead))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
