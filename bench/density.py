"""``make bench-density``: one Hangar node hosting many apps, against Parse Server's one process per app.

Prints, for one node (bench/README.md, "Density"):

- provisioning: every app created one at a time (``operator_app_create``), p50/p99/max ms,
  claiming partitions made ahead (a pool of ``--spares`` refilled before each burst, timed
  apart), and for the last ``--inline`` apps with the pool empty;
- throughput: GET-by-id on one app, then the same load spread round-robin over ``--active``
  apps (wrk, same connections and duration), alternated ``--repeats`` times after a priming
  run of the spread load: req/s and p99 of each, and their ratios with the median (the
  issue's targets: at least 0.9x the single-app req/s, p99 within 1.2x);
- memory: the web process's RSS idle, after the single-app load, after the spread load
  (so the memory per active app: its cached app record, keys, schemas), and after a sweep
  over every app with a cache bound smaller than the app count (``--cache-max-apps``): the
  process stays bounded, an idle app costs nothing but its rows;
- beside it, one idle Parse Server process (one app) and what ``--apps`` of them cost.

    .venv/bin/python bench/density.py [--apps 1000] [--active 100] [--duration 10] [--connections 32]
        [--repeats 3] [--prime 40] [--spares 20] [--inline 50] [--cache-max-apps 200] [--skip-parse]
        [--database hangar_density] [--redis redis://127.0.0.1:6379/13]
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.path.insert(1, str(Path(__file__).resolve().parents[1] / "platform"))

import argparse
import json
import os
import statistics
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import httpx
import psutil

from bench.cpu import backing_services_cpu_seconds, reaped_children_cpu_seconds
from bench.databases import database_recreate, redis_flush
from bench.install import ensure_parse_server, ensure_wrk
from bench.load import LoadOptions, WrkResult, run_wrk, write_request_file
from bench.paths import PARSE_FILES_DIR, PYTHON, REPO_DIR, WORK_DIR, log_path
from bench.processes import ServerProcess
from bench.servers import (
    BENCH_ORGANIZATION,
    BENCH_OWNER,
    HOST,
    MOUNT,
    PARSE_FILES_ADAPTER,
    _free_port,
    _random_key,
    _wait_until_ready,
    _websocket_args,
    hangar_bench_app_create,
    hangar_environment,
)
from bench.workloads import HttpRequest

HANGAR_DATABASE = "hangar_density"
PARSE_DATABASE = "parse_density"
ITEM_CLASS = "DenseItem"
_RESULT_PREFIX = "DENSITY "
MIB = 1024 * 1024


@dataclass(frozen=True)
class BenchApp:
    application_id: str
    master: str
    rest: str


@dataclass(frozen=True)
class Memory:
    rss_mib: float
    uss_mib: float


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/density.py", description="Many apps on one Hangar node.")
    add = parser.add_argument
    add("--apps", type=int, default=1000, help="apps provisioned on the node (default 1000)")
    add("--active", type=int, default=100, help="apps the spread load goes round-robin over (default 100)")
    add("--objects", type=int, default=20, help="objects per active app, read by id (default 20)")
    add("--duration", type=int, default=10, help="measured seconds per load phase (default 10)")
    add("--warmup", type=int, default=3, help="seconds of each load before its measurement (default 3)")
    add("--prime", type=int, default=40, help="seconds of spread load before the first measurement (default 40)")
    add("--repeats", type=int, default=3, help="one-app then spread measurements, alternated (default 3)")
    add("--spares", type=int, default=20, help="partitions made ahead before each burst of app creations (default 20)")
    add("--inline", type=int, default=50, help="last apps created with no spare left (default 50)")
    add("--connections", type=int, default=32, help="wrk connections (default 32)")
    add("--workers", type=int, default=1, help="uvicorn worker processes (default 1: memory per process)")
    add("--cache-max-apps", type=int, default=200, help="HANGAR_CACHE_MAX_APPS of the node (default 200)")
    add("--skip-parse", action="store_true", help="do not measure Parse Server's idle process")
    add("--postgres", default="postgresql://postgres@127.0.0.1:5432", help="PostgreSQL server URL (no database)")
    add("--redis", default="redis://127.0.0.1:6379/13", help="Hangar's Redis database; emptied at the start")
    add("--database", default=HANGAR_DATABASE, help=f"Hangar's database, recreated (default {HANGAR_DATABASE})")
    add("--provision", type=int, help=argparse.SUPPRESS)  # the child that creates apps (Django configured)
    add("--keys-of", type=int, default=0, help=argparse.SUPPRESS)
    add("--inline-of", type=int, default=0, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * (len(ordered) - 1) + 0.5))]


def provision_child(count: int, keys_of: int, spares: int, inline: int) -> None:
    """In a Django-configured child: create ``count`` apps one at a time; print durations and some keys.

    As a deployment runs it (HANGAR_SPARE_APP_PARTITIONS), apps claim partitions made ahead: the
    pool is filled with ``spares`` (timed apart: in production a Celery worker does it after each
    claim) before each burst of that many creations. The last ``inline`` apps find the pool empty
    and make their partitions as they are created, which is what a burst larger than the pool costs.
    """
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from tenants.services import operator_app_create
    from tenants.services.apps import app_spare_partitions_fill

    connection.ensure_connection()
    durations: list[float] = []
    inline_durations: list[float] = []
    fill_ms_per_spare: list[float] = []
    apps = []
    pooled = count - inline
    for number in range(count):
        if number == pooled:
            settings.HANGAR_SPARE_APP_PARTITIONS = 0
        elif number < pooled and (number % spares == 0):
            started = time.perf_counter()
            made = app_spare_partitions_fill(target=min(spares, pooled - number))
            fill_ms_per_spare.append((time.perf_counter() - started) * 1000 / max(1, made))
        started = time.perf_counter()
        _, keys = operator_app_create(
            organization_name=BENCH_ORGANIZATION, app_name=f"dense-{number}", owner_email=BENCH_OWNER
        )
        (durations if number < pooled else inline_durations).append((time.perf_counter() - started) * 1000)
        if number < keys_of:
            apps.append({"application_id": keys["application_id"], "master": keys["master"], "rest": keys["rest"]})
    result = {"durations": durations, "inline": inline_durations, "fill": fill_ms_per_spare, "apps": apps}
    print(_RESULT_PREFIX + json.dumps(result), flush=True)


@dataclass(frozen=True)
class Provisioning:
    pooled_ms: list[float]
    inline_ms: list[float]
    fill_ms_per_spare: list[float]


def provision(
    env: Mapping[str, str], count: int, keys_of: int, spares: int, inline: int
) -> tuple[Provisioning, list[BenchApp]]:
    command = [
        PYTHON, "-m", "bench.density", "--provision", str(count), "--keys-of", str(keys_of),
        "--spares", str(spares), "--inline-of", str(inline),
    ]  # fmt: skip
    completed = subprocess.run(
        command, env=dict(env), cwd=REPO_DIR, capture_output=True, text=True, timeout=120 + count * 5
    )
    if completed.returncode != 0:
        raise RuntimeError(f"provisioning failed:\n{completed.stdout}{completed.stderr}"[-4000:])
    for line in completed.stdout.splitlines():
        if line.startswith(_RESULT_PREFIX):
            result = json.loads(line[len(_RESULT_PREFIX) :])
            timings = Provisioning(result["durations"], result["inline"], result["fill"])
            return timings, [BenchApp(**app) for app in result["apps"]]
    raise RuntimeError(f"provisioning printed no result:\n{completed.stdout}")


def headers(app: BenchApp, *, master: bool = False) -> dict[str, str]:
    key = {"X-Parse-Master-Key": app.master} if master else {"X-Parse-REST-API-Key": app.rest}
    return {"X-Parse-Application-Id": app.application_id, **key}


def seed(base_url: str, apps: Sequence[BenchApp], objects: int) -> dict[str, list[str]]:
    """``objects`` objects in each app (one /batch each); their ids by application id."""
    ids: dict[str, list[str]] = {}
    with httpx.Client(timeout=30) as client:
        for app in apps:
            requests = [
                {"method": "POST", "path": f"{MOUNT}/classes/{ITEM_CLASS}", "body": {"n": n}} for n in range(objects)
            ]
            answer = client.post(f"{base_url}/batch", json={"requests": requests}, headers=headers(app, master=True))
            answer.raise_for_status()
            ids[app.application_id] = [item["success"]["objectId"] for item in answer.json()]
    return ids


def get_by_id_request(base_url: str, apps: Sequence[BenchApp], ids: Mapping[str, list[str]]) -> HttpRequest:
    """GET by id, round-robin over ``apps`` (each with its own keys), every object of each in turn."""
    variants, variant_headers = [], []
    per_app = [(app, ids[app.application_id]) for app in apps]
    for index in range(max(len(object_ids) for _, object_ids in per_app)):
        for app, object_ids in per_app:
            variants.append((f"{MOUNT}/classes/{ITEM_CLASS}/{object_ids[index % len(object_ids)]}", ""))
            variant_headers.append(headers(app))
    first = apps[0]
    return HttpRequest(
        method="GET", url=f"{base_url}/classes/{ITEM_CLASS}/{ids[first.application_id][0]}",
        headers=headers(first), body="", variants=tuple(variants), variant_headers=tuple(variant_headers),
    )  # fmt: skip


def sweep_request(base_url: str, apps: Sequence[BenchApp]) -> HttpRequest:
    """A find on every app in turn (master key: an app without the class answers an empty list)."""
    variants = tuple((f"{MOUNT}/classes/{ITEM_CLASS}?limit=1", "") for _ in apps)
    return HttpRequest(
        method="GET", url=f"{base_url}/classes/{ITEM_CLASS}?limit=1", headers=headers(apps[0], master=True), body="",
        variants=variants, variant_headers=tuple(headers(app, master=True) for app in apps),
    )  # fmt: skip


@dataclass(frozen=True)
class Phase:
    result: WrkResult
    cpu_ms_per_request: float  # the web processes' user + system CPU over the measured run, per request
    backing_ms_per_request: float  # PostgreSQL's and Redis's, machine-wide (other users' work included)
    database_ms_per_request: float  # the backends serving the benchmark's database only
    wrk_ms_per_request: float  # the load generator's


def database_backends_cpu_seconds(database_url: str) -> float:
    """CPU seconds of the PostgreSQL backends connected to the benchmark's own database (no one else's)."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True, connect_timeout=5) as conn:
        pids = [row[0] for row in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()]  # fmt: skip
    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        total += times.user + times.system
    return total


def _cpu_seconds(process: ServerProcess) -> float:
    root = psutil.Process(process.pid)
    total = 0.0
    for member in [root, *root.children(recursive=True)]:
        times = member.cpu_times()
        total += times.user + times.system
    return total


def load(
    wrk: str, request: HttpRequest, name: str, args: argparse.Namespace, server: ServerProcess, database_url: str,
    *, warmup: int | None = None,
) -> Phase:  # fmt: skip
    path = write_request_file(request, name)
    warmup = args.warmup if warmup is None else warmup
    if warmup:
        run_wrk(wrk, request, path, LoadOptions(connections=args.connections, threads=2, seconds=warmup))

    def sample() -> tuple[float, float, float, float]:
        return (
            _cpu_seconds(server), backing_services_cpu_seconds(), database_backends_cpu_seconds(database_url),
            reaped_children_cpu_seconds(),
        )  # fmt: skip

    before = sample()
    result = run_wrk(wrk, request, path, LoadOptions(connections=args.connections, threads=2, seconds=args.duration))
    after = sample()
    web, backing, database, generator = (
        1000 * (b - a) / max(1, result.requests) for a, b in zip(before, after, strict=True)
    )
    return Phase(
        result=result, cpu_ms_per_request=web, backing_ms_per_request=backing, database_ms_per_request=database,
        wrk_ms_per_request=generator,
    )  # fmt: skip


def web_memory(process: ServerProcess, workers: int) -> Memory:
    """The largest web process (with several workers, uvicorn's supervisor is left out)."""
    root = psutil.Process(process.pid)
    members = root.children(recursive=True) if workers > 1 else [root]
    infos = [member.memory_full_info() for member in members]
    largest = max(infos, key=lambda info: info.rss)
    return Memory(rss_mib=largest.rss / MIB, uss_mib=largest.uss / MIB)


def start_hangar_node(env: dict[str, str], port: int, workers: int) -> tuple[ServerProcess, str]:
    command = [
        PYTHON, "-m", "uvicorn", "hangar.asgi:application", "--app-dir", str(REPO_DIR / "platform"),
        "--host", HOST, "--port", str(port), "--workers", str(workers),
        "--no-server-header", "--no-access-log", "--log-level", "warning", *_websocket_args(REPO_DIR),
    ]  # fmt: skip
    process = ServerProcess("hangar-density", command, env=env, cwd=REPO_DIR, log_path=log_path("hangar-density"))
    base_url = f"http://{HOST}:{port}{MOUNT}"
    # One worker: uvicorn serves from the process itself, with no supervisor above it.
    _wait_until_ready(process, f"{base_url}/health", workers if workers > 1 else 0)
    return process, base_url


def parse_idle_memory(postgres: str) -> Memory:
    """One Parse Server process (single mode, one app) after it has served one request and idled."""
    cli = ensure_parse_server()
    database_url = database_recreate(server_url=postgres, name=PARSE_DATABASE)
    port = _free_port()
    app_id, master_key = _random_key(), _random_key()
    command = [
        str(cli), "--appId", app_id, "--masterKey", master_key, "--databaseURI", database_url,
        "--port", str(port), "--host", HOST, "--mountPath", MOUNT, "--serverURL", f"http://{HOST}:{port}{MOUNT}",
        "--logLevel", "warn", "--filesAdapter", PARSE_FILES_ADAPTER,
    ]  # fmt: skip
    PARSE_FILES_DIR.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "NODE_ENV": "production"}
    process = ServerProcess("parse-density", command, env=env, cwd=PARSE_FILES_DIR, log_path=log_path("parse-density"))
    try:
        _wait_until_ready(process, f"http://{HOST}:{port}{MOUNT}/health", 0)
        httpx.get(
            f"http://{HOST}:{port}{MOUNT}/classes/Probe", headers={"X-Parse-Application-Id": app_id,
            "X-Parse-Master-Key": master_key}, timeout=10,
        )  # fmt: skip
        time.sleep(3)
        info = max((member.memory_full_info() for member in [psutil.Process(process.pid)]), key=lambda item: item.rss)
        return Memory(rss_mib=info.rss / MIB, uss_mib=info.uss / MIB)
    finally:
        process.stop()


def _row(name: str, phase: Mapping[str, Any]) -> str:
    result, cpu = WrkResult(**phase["wrk"]), phase["cpu_ms_per_request"]
    return (
        f"    {name:<24} {result.requests_per_second:>7.0f} req/s  p50 {result.p50_ms:7.2f} ms  "
        f"p99 {result.p99_ms:7.2f} ms  CPU ms/req: web {cpu['web']:.3f}, its PostgreSQL backends "
        f"{cpu['database']:.3f}, all pg+redis {cpu['backing']:.3f}, wrk {cpu['wrk']:.3f}  errors {result.errors}"
    )


def _timing(summary: Mapping[str, float]) -> str:
    if not summary.get("count"):
        return "none"
    count = f"{summary['count']:.0f} apps"
    return f"p50 {summary['p50']:.1f} ms, p99 {summary['p99']:.1f} ms, max {summary['max']:.1f} ms ({count})"


def render(report: dict[str, Any]) -> str:
    memory = report["memory_mib"]
    before, after = report["load_average_before"], report["load_average_after"]
    lines = [
        f"Hangar density: {report['apps']} apps on one node, {report['workers']} web process(es), "
        f"HANGAR_CACHE_MAX_APPS={report['cache_max_apps']}, wrk {report['connections']} connections, "
        f"{report['duration']} s per phase after {report['warmup']} s of warm-up (the spread load primed "
        f"{report['prime']} s first); machine load average {before[0]:.1f} before, {after[0]:.1f} after",
        f"provisioning, one app at a time, claiming partitions made ahead: {_timing(report['provisioning_ms'])} "
        "(target: p99 under 100 ms)",
        f"  making a spare ahead (pool refill, {report['spares']} before each burst of creations): "
        f"{_timing(report['spare_fill_ms_per_spare'])} per spare",
        f"  with the pool empty (partitions made at creation): {_timing(report['provisioning_inline_ms'])}",
        f"GET by id, one app then round-robin over {report['active']} apps, {len(report['repeats'])} times:",
    ]
    for number, repeat in enumerate(report["repeats"], start=1):
        ratios = repeat["ratios"]
        lines += [
            _row(f"#{number} one app", repeat["single"]),
            _row(f"#{number} over {report['active']} apps", repeat["spread"]),
            f"    #{number} spread / single: req/s {ratios['requests']:.2f}x, p99 {ratios['p99']:.2f}x, "
            f"web CPU ms/req {ratios['cpu']:.2f}x",
        ]
    median = report["median_ratios"]
    lines += [
        f"  median spread / single: req/s {median['requests']:.2f}x (target >= 0.90), p99 {median['p99']:.2f}x "
        f"(target <= 1.20), web CPU ms/req {median['cpu']:.2f}x",
        "web process memory (RSS / USS MiB):",
        f"  after provisioning, idle        {memory['idle']['rss_mib']:7.1f} / {memory['idle']['uss_mib']:7.1f}",
        f"  after the one-app load          {memory['single']['rss_mib']:7.1f} / {memory['single']['uss_mib']:7.1f}",
        f"  after the {report['active']}-app load          "
        f"{memory['spread']['rss_mib']:7.1f} / {memory['spread']['uss_mib']:7.1f}",
        f"  after a sweep of all {report['apps']} apps    "
        f"{memory['sweep']['rss_mib']:7.1f} / {memory['sweep']['uss_mib']:7.1f}"
        f"   (cache bound {report['cache_max_apps']} apps; {report['sweep_errors']} errors)",
        f"  per active app: {report['per_active_app_kib']:.1f} KiB of RSS "
        f"((after {report['active']} apps - after one) / {report['active'] - 1})",
    ]
    parse = report.get("parse_idle_process_mib")
    if parse:
        n = report["apps"]
        lines += [
            f"Parse Server, one app per process: one idle process {parse['rss_mib']:.1f} MiB RSS "
            f"({parse['uss_mib']:.1f} MiB its own, USS); {n} apps = {n} processes = "
            f"{n * parse['uss_mib'] / 1024:.1f}-{n * parse['rss_mib'] / 1024:.1f} GiB, against Hangar's one process "
            f"at {memory['sweep']['rss_mib']:.0f} MiB",
        ]
    return "\n".join(lines)


def _summary(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {"count": 0}
    return {"count": len(values), "p50": statistics.median(values), "p99": _percentile(values, 0.99),
            "max": max(values)}  # fmt: skip


def _phase_report(phase: Phase) -> dict[str, Any]:
    return {
        "wrk": asdict(phase.result),
        "cpu_ms_per_request": {"web": phase.cpu_ms_per_request, "backing": phase.backing_ms_per_request,
                               "database": phase.database_ms_per_request, "wrk": phase.wrk_ms_per_request},
    }  # fmt: skip


def measure_spread(
    wrk: str, base_url: str, active: Sequence[BenchApp], ids: Mapping[str, list[str]], args: argparse.Namespace,
    process: ServerProcess, database_url: str,
) -> tuple[list[dict[str, Any]], Memory, Memory]:  # fmt: skip
    """One-app and spread phases alternated ``--repeats`` times; the spread load is primed once, before its first.

    The priming run lets every pooled connection prepare each app's statement (psycopg prepares a
    statement on its fifth run, PostgreSQL plans it generically after five more): a process
    serving 100 apps does that once, in its first seconds of traffic; measured before, the
    spread load would pay parsing and planning that a running node no longer pays.
    """
    single_request = get_by_id_request(base_url, active[:1], ids)
    spread_request = get_by_id_request(base_url, active, ids)
    repeats: list[dict[str, Any]] = []
    after_single = after_spread = web_memory(process, args.workers)
    for number in range(args.repeats):
        single = load(wrk, single_request, "density-single", args, process, database_url)
        if number == 0:
            # Before any spread load: the memory per active app is the difference with after_spread.
            after_single = web_memory(process, args.workers)
            if args.prime:
                load(wrk, spread_request, "density-spread", args, process, database_url, warmup=0)
        spread = load(wrk, spread_request, "density-spread", args, process, database_url)
        after_spread = web_memory(process, args.workers)
        repeats.append({
            "single": _phase_report(single), "spread": _phase_report(spread),
            "ratios": {"requests": spread.result.requests_per_second / single.result.requests_per_second,
                       "p99": spread.result.p99_ms / single.result.p99_ms,
                       "cpu": spread.cpu_ms_per_request / single.cpu_ms_per_request},
        })  # fmt: skip
    return repeats, after_single, after_spread


def run(args: argparse.Namespace) -> dict[str, Any]:
    wrk = ensure_wrk()
    redis_flush(args.redis)
    database_url = database_recreate(server_url=args.postgres, name=args.database)
    port = _free_port()
    env = {
        **hangar_environment(database_url=database_url, redis_url=args.redis, port=port),
        "HANGAR_CACHE_MAX_APPS": str(args.cache_max_apps),
        "WEB_CONCURRENCY": str(args.workers),
    }  # fmt: skip
    first = hangar_bench_app_create(env)
    load_average = os.getloadavg()
    timings, apps = provision(env, args.apps - 1, args.apps - 1, args.spares, min(args.inline, args.apps - 1))
    apps.insert(0, BenchApp(first["application_id"], first["keys"]["master"], first["keys"]["rest"]))
    process, base_url = start_hangar_node(env, port, args.workers)
    try:
        active = apps[: args.active]
        ids = seed(base_url, active, args.objects)
        time.sleep(2)
        idle = web_memory(process, args.workers)
        repeats, after_single, after_spread = measure_spread(wrk, base_url, active, ids, args, process, database_url)
        sweep = load(wrk, sweep_request(base_url, apps), "density-sweep", args, process, database_url).result
        after_sweep = web_memory(process, args.workers)
    finally:
        process.stop()
    report: dict[str, Any] = {
        "apps": args.apps, "active": args.active, "workers": args.workers, "connections": args.connections,
        "duration": args.duration, "warmup": args.warmup, "prime": args.prime, "cache_max_apps": args.cache_max_apps,
        "load_average_before": load_average, "load_average_after": os.getloadavg(),
        "provisioning_ms": _summary(timings.pooled_ms), "provisioning_inline_ms": _summary(timings.inline_ms),
        "spare_fill_ms_per_spare": _summary(timings.fill_ms_per_spare), "spares": args.spares,
        "repeats": repeats, "sweep_errors": sweep.errors,
        "median_ratios": {name: statistics.median(r["ratios"][name] for r in repeats)
                          for name in ("requests", "p99", "cpu")},
        "memory_mib": {"idle": asdict(idle), "single": asdict(after_single), "spread": asdict(after_spread),
                       "sweep": asdict(after_sweep)},
        "per_active_app_kib": (after_spread.rss_mib - after_single.rss_mib) * 1024 / max(1, args.active - 1),
    }  # fmt: skip
    if not args.skip_parse:
        report["parse_idle_process_mib"] = asdict(parse_idle_memory(args.postgres))
    return report


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.provision is not None:
        provision_child(args.provision, args.keys_of, args.spares, args.inline_of)
        return 0
    if args.active > args.apps or args.active < 2:
        print("--active must be between 2 and --apps", file=sys.stderr)
        return 2
    if args.cache_max_apps < args.active:
        # Every request of the spread load would miss the cache and reload its app and schemas.
        print("--cache-max-apps must hold the --active apps", file=sys.stderr)
        return 2
    report = run(args)
    print(render(report), flush=True)
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    result_file = WORK_DIR / f"density-{time.strftime('%Y%m%d-%H%M%S')}.json"
    result_file.write_text(json.dumps(report, indent=2))
    print(f"results: {result_file}", flush=True)
    errors = report["sweep_errors"] + sum(
        repeat[phase]["wrk"]["non_2xx"] for repeat in report["repeats"] for phase in ("single", "spread")
    )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
