"""``make bench``: Hangar and Parse Server side by side, on one machine, in one run.

Both servers get a fresh database on the same PostgreSQL, one worker per core, and the
same wrk load (connections, threads, duration) per workload; the table reports req/s,
p50, p99 and CPU ms per request for each and the Hangar/Parse ratio. Then Hangar's app
provisioning is timed. Servers are stopped at the end, on error and on Ctrl-C.
See bench/README.md.

The data-API workloads first get the same data seeded into both servers through their
REST API (bench/dataset.py), and every workload's first request is sent to both and
checked side by side (bench/guard.py) before any load.

    .venv/bin/python bench/run.py [--quick] [--duration 10] [--warmup 2] [--connections 64] [--threads 2]
        [--workloads health,get-by-id] [--items 10000] [--comments 2000] [--workers N] [--provision-apps 50]
        [--skip-parse] [--check-only]
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script (bench/run.py): make the `bench` package importable.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.path.insert(1, str(Path(__file__).resolve().parents[1] / "platform"))  # hangar.launcher's serve flags

import argparse
import os
import signal
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import replace
from types import FrameType

from bench.cloudcode import (
    DEFAULT_COLD_START_ROUNDS,
    CloudSetupError,
    deploy_hangar_bundle,
    measure_cold_start,
    parse_cloud_flags,
    prepare_cloud,
    render_cold_start,
    render_warm_targets,
)
from bench.context import live_context, render_header, render_live_header, run_context
from bench.databases import database_recreate, redis_flush
from bench.dataset import (
    DEFAULT_COMMENTS,
    DEFAULT_ITEMS,
    DatasetSize,
    SeededData,
    SeedError,
    index_usage,
    seed,
    seed_files,
    seed_users,
    vacuum_analyze,
)
from bench.guard import GuardError, check_samples
from bench.install import ensure_parse_server, ensure_wrk
from bench.livefanout import LIVE_CLASS, LiveOptions, LiveRunError, render_live, run_live_fanout, write_live_json
from bench.load import LoadOptions
from bench.measure import Measurement, measure
from bench.paths import REPO_DIR
from bench.provisioning import measure_provisioning
from bench.report import (
    render_index_usage,
    render_provisioning,
    render_table,
    render_workload_notes,
    write_json,
)
from bench.servers import (
    BENCH_ORGANIZATION,
    BENCH_OWNER,
    Target,
    clear_file_stores,
    hangar_environment,
    parse_live_query_flags,
    start_hangar,
    start_parse,
)
from bench.workloads import FILE_SIZES, HttpRequest, Workload, workloads_named

HANGAR_DATABASE = "hangar_bench"
PARSE_DATABASE = "parse_bench"
# Not a wrk workload: N LiveQuery subscribers and a writer, on servers started with LiveQuery (bench/livefanout.py).
LIVE_FANOUT = "live-fanout"
# Not a wrk workload either: the first call of freshly deployed versions, Hangar alone (bench/cloudcode.py).
COLD_START = "cloud-cold-start"
# Hangar alone, with Celery workers and a local FCM endpoint; only when named (bench/push.py).
PUSH_CAMPAIGN = "push-campaign"
SPECIAL_WORKLOADS = (LIVE_FANOUT, COLD_START, PUSH_CAMPAIGN)


def _name_list(value: str) -> list[str]:
    return [name.strip() for name in value.split(",") if name.strip()]


def _count_list(value: str) -> list[int]:
    counts = [int(part) for part in _name_list(value)]
    if not counts or any(count < 1 for count in counts):
        raise argparse.ArgumentTypeError("a comma-separated list of positive counts, e.g. 1000,10000")
    return counts


# (normal, --quick) defaults; a flag given explicitly wins over both.
_SCALED_DEFAULTS = {
    "duration": (10, 3), "warmup": (2, 1), "items": (DEFAULT_ITEMS, 2000), "comments": (DEFAULT_COMMENTS, 400),
    "live_subscribers": ([1000, 10000], [1000]), "live_duration": (10, 3), "live_burst_deliveries": (200_000, 50_000),
    "cold_start_rounds": (DEFAULT_COLD_START_ROUNDS, 3),
}  # fmt: skip


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/run.py", description="Hangar and Parse Server side by side.")
    add = parser.add_argument
    add("--quick", action="store_true", help="smoke run: 3 s measured after 1 s warm-up, 2000 items, 400 comments")
    add("--duration", type=int, help="measured seconds per workload and server (default 10)")
    add("--warmup", type=int, help="discarded seconds of load before each measurement (default 2)")
    add("--connections", type=int, default=64, help="open connections, the same for both servers (default 64)")
    add("--threads", type=int, default=2, help="wrk threads (default 2)")
    add("--workloads", type=_name_list, help=f"comma-separated workload names, {LIVE_FANOUT} included (default: all)")
    add("--items", type=int, help=f"BenchItems seeded into each server (default {DEFAULT_ITEMS})")
    add("--comments", type=int, help=f"BenchComments seeded into each server (default {DEFAULT_COMMENTS})")
    add("--check-only", action="store_true", help="start, seed and check both servers, then stop without load")
    add("--workers", type=int, default=os.cpu_count() or 1, help="processes per server (default: one per core)")
    add("--provision-apps", type=int, default=50, help="apps created to time provisioning (default 50; 0 skips)")
    add("--skip-parse", action="store_true", help="measure Hangar alone")
    add("--postgres", default="postgresql://postgres@127.0.0.1:5432", help="PostgreSQL server URL (no database)")
    add("--redis", default="redis://127.0.0.1:6379/14", help="Hangar's Redis database; emptied at the start")
    add("--hangar-database", default=HANGAR_DATABASE, help=f"Hangar's database, recreated (default {HANGAR_DATABASE})")
    add("--parse-database", default=PARSE_DATABASE, help=f"Parse's database, recreated (default {PARSE_DATABASE})")
    live = parser.add_argument_group(f"{LIVE_FANOUT} (LiveQuery fan-out, bench/livefanout.py)")
    add = live.add_argument
    add("--live-subscribers", type=_count_list, help="subscriber counts, each measured on both servers (1000,10000)")
    add("--live-rate", type=float, default=1.0, help="steady writes per second (default 1)")
    add("--live-duration", type=float, help="seconds of steady writes (default 10)")
    add("--live-burst-deliveries", type=int, help="deliveries due in the burst phase (default 200000)")
    add("--live-generators", type=int, default=os.cpu_count() or 1, help="load-generator processes (default: cores)")
    add("--hangar-root", type=Path, default=REPO_DIR, help="the Hangar checkout served (default: this one)")
    add("--skip-hangar", action="store_true", help=f"{LIVE_FANOUT} only: measure Parse Server alone")
    add = parser.add_argument_group(f"{COLD_START} (cloud code, bench/cloudcode.py)").add_argument
    add("--cold-start-rounds", type=int, help=f"new versions, each called once (default {DEFAULT_COLD_START_ROUNDS})")
    add = parser.add_argument_group(f"{PUSH_CAMPAIGN} (push delivery, bench/push.py)").add_argument
    add("--push-installations", type=int, default=100_000, help="installations the campaign goes to (100000)")
    add("--push-workers", type=int, default=os.cpu_count() or 1, help="Celery worker processes (default: cores)")
    args = parser.parse_args(argv)
    for name, (normal, quick) in _SCALED_DEFAULTS.items():
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else normal)
    return args


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    # Unwind like Ctrl-C, so that every server started so far is stopped.
    raise KeyboardInterrupt


def start_servers(
    args: argparse.Namespace, stack: ExitStack, *, live: bool = False, cloud: bool = False, parse: bool = True
) -> list[Target]:
    """Start Hangar (and Parse unless skipped) on fresh databases; each is stopped when ``stack`` closes.

    ``live``: for live-fanout, Hangar from ``--hangar-root`` and Parse Server with its
    LiveQuery server and Redis pub/sub (servers.parse_live_query_flags). ``cloud``: the
    bench's cloud code deployed to Hangar and loaded by Parse Server (bench/cloudcode.py).
    """
    redis_flush(args.redis)
    clear_file_stores()
    targets = []
    if not (live and args.skip_hangar):
        hangar_db = database_recreate(server_url=args.postgres, name=args.hangar_database)
        print(f"starting Hangar: {args.workers} uvicorn workers, database {args.hangar_database}", flush=True)
        hangar = start_hangar(
            database_url=hangar_db, redis_url=args.redis, workers=args.workers,
            root=args.hangar_root if live else REPO_DIR, log_name="hangar-live" if live else "hangar",
        )  # fmt: skip
        stack.callback(hangar.process.stop)
        targets.append(hangar)
        if cloud:
            env = hangar_environment(database_url=hangar_db, redis_url=args.redis, port=0)
            version = deploy_hangar_bundle(env, hangar.application_id)
            print(f"  deployed bench/cloud/hangar as version {version['version']}: {version['handlers']}", flush=True)
    if args.skip_parse or not parse:
        return targets
    cli = ensure_parse_server()
    parse_db = database_recreate(server_url=args.postgres, name=args.parse_database)
    extra = parse_live_query_flags(class_names=[LIVE_CLASS], redis_url=args.redis) if live else []
    if cloud:
        extra += parse_cloud_flags()
    print(f"starting Parse Server: --cluster {args.workers}, database {args.parse_database}"
          + (", LiveQuery with Redis pub/sub" if live else "") + (", cloud code" if cloud else ""),
          flush=True)  # fmt: skip
    parse = start_parse(
        cli=cli, database_url=parse_db, workers=args.workers, extra_flags=extra,
        log_name="parse-live" if live else "parse",
    )  # fmt: skip
    stack.callback(parse.process.stop)
    targets.append(parse)
    return targets


def needed_seeds(workloads: list[Workload]) -> set[str]:
    """What the selected workloads need seeded: "objects", "users", "files" (files need users)."""
    needed: set[str] = set().union(*(workload.seeds for workload in workloads))
    if "files" in needed:
        needed.add("users")
    return needed


def seed_servers(targets: list[Target], size: DatasetSize, needed: set[str]) -> dict[str, SeededData]:
    """The same data into every server through its REST API, then VACUUM (ANALYZE) and the index check."""
    seeded: dict[str, SeededData] = {}
    for target in targets:
        data = SeededData(size=size)
        done = []
        if "objects" in needed:
            data = seed(target, size)
            vacuum_analyze(target.details["database_url"])
            index_usage(target.kind, target.details["database_url"])  # raises when a declared index is missing
            done.append(f"{size.items} items, {size.comments} comments")
        if "users" in needed:
            data = seed_users(target, data)
            done.append(f"{len(data.users) + 1} users")
        if "files" in needed:
            data = seed_files(target, data, FILE_SIZES)
            done.append(f"{len(data.files)} files")
        print(f"  seeded {target.kind}: {', '.join(done)} in {data.seconds:.1f} s", flush=True)
        seeded[target.kind] = data
    return seeded


def prepare_requests(
    targets: list[Target], workloads: list[Workload], seeded: dict[str, SeededData]
) -> dict[tuple[str, str], HttpRequest]:
    """Every workload's request(s) against every server, keyed by (workload, server)."""
    return {
        (workload.name, target.kind): workload.prepare(target, seeded.get(target.kind))
        for workload in workloads for target in targets
    }  # fmt: skip


def run_workloads(
    *, wrk: str, targets: list[Target], workloads: list[Workload], requests: dict[tuple[str, str], HttpRequest],
    options: LoadOptions, warmup: int,
) -> list[Measurement]:  # fmt: skip
    """Measure every workload on every server; results come back Hangar first whatever the running order."""
    measurements: list[Measurement] = []
    for index, workload in enumerate(workloads):
        # Alternate which server goes first, so that neither always meets the warmer machine.
        order = targets if index % 2 == 0 else targets[::-1]
        results: dict[str, Measurement] = {}
        for target in order:
            result = measure(
                wrk=wrk, target=target, workload=workload, request=requests[workload.name, target.kind],
                options=replace(options, connections=workload.connections(options.connections)),
                warmup_seconds=warmup,
            )  # fmt: skip
            print(f"  {workload.name:<17} {target.kind:<7} {result.load.requests_per_second:>8.0f} req/s  "
                  f"{result.cpu_ms_per_request:.3f} CPU ms/req  errors {result.load.errors}  "
                  f"others {result.others_share:.0%}", flush=True)  # fmt: skip
            results[target.kind] = result
        measurements.extend(results[target.kind] for target in targets)
    return measurements


def live_fanout(args: argparse.Namespace) -> int:
    """The live-fanout benchmark on its own pair of servers (LiveQuery on); 0 when every run was valid."""
    options = LiveOptions(
        subscribers=args.live_subscribers, rate=args.live_rate, duration=args.live_duration,
        burst_deliveries=args.live_burst_deliveries, generators=args.live_generators,
    )  # fmt: skip
    with ExitStack() as stack:
        targets = start_servers(args, stack, live=True)
        context = live_context(hangar_root=args.hangar_root, targets=targets)
        try:
            results = run_live_fanout(targets, options)
        except LiveRunError as exc:
            print(f"bench/run.py: {exc}", file=sys.stderr)
            return 1
    options_line = (
        f"live-fanout: {options.generators} generator processes, steady {options.rate:g} writes/s for "
        f"{options.duration:g} s, burst {options.burst_deliveries} deliveries, {args.workers} workers per server"
    )
    print("\n" + render_live_header(context, options_line) + "\n\n" + render_live(results))
    print(f"\nresults: {write_live_json(context, options, results)}")
    return 0 if all(result.valid for result in results) else 1


def push_campaign(args: argparse.Namespace) -> int:
    """The push-campaign workload on a Hangar of its own (bench/push.py); 0 when it completed."""
    from bench.push import PushBenchError, render_push, run_push_campaign, write_push_json

    with ExitStack() as stack:
        (hangar,) = start_servers(args, stack, parse=False)
        try:
            result = run_push_campaign(
                hangar, args.redis, installations=args.push_installations, workers=args.push_workers
            )
        except PushBenchError as exc:
            print(f"bench/run.py: {exc}", file=sys.stderr)
            return 1
    print("\n" + render_push(result))
    print(f"\nresults: {write_push_json(result)}")
    return 0


def split_selection(names: list[str] | None) -> tuple[list[Workload], bool, bool]:
    """``--workloads`` as (wrk workloads, whether live-fanout runs, whether the cold start runs); None: all."""
    run_live = names is None or LIVE_FANOUT in names
    cold_start = names is None or COLD_START in names
    workloads = workloads_named([n for n in names if n not in SPECIAL_WORKLOADS] if names else None)
    if names and all(n in SPECIAL_WORKLOADS for n in names):
        workloads = []
    return workloads, run_live, cold_start


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        workloads, run_live, cold_start = split_selection(args.workloads)
    except ValueError as exc:
        print(f"bench/run.py: {exc}", file=sys.stderr)
        return 2
    if args.skip_hangar and (workloads or cold_start):
        print(f"bench/run.py: --skip-hangar is for {LIVE_FANOUT} alone", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    status = 0
    if args.workloads and PUSH_CAMPAIGN in args.workloads:
        status = push_campaign(args)
    if workloads or cold_start:
        status = max(status, run_http_workloads(args, workloads, cold_start=cold_start))
    if run_live:
        status = max(status, live_fanout(args))
    return status


def run_http_workloads(args: argparse.Namespace, workloads: list[Workload], *, cold_start: bool = False) -> int:
    """The wrk workloads, the cloud code's cold start, then the provisioning timing (bench/README.md)."""
    try:
        size = DatasetSize(items=args.items, comments=args.comments)
    except ValueError as exc:
        print(f"bench/run.py: {exc}", file=sys.stderr)
        return 2
    options = LoadOptions(connections=args.connections, threads=args.threads, seconds=args.duration)
    wrk = ensure_wrk()
    with ExitStack() as stack:
        cloud = cold_start or any(workload.cloud_code for workload in workloads)
        # The cold start needs Hangar alone: Parse starts only for wrk workloads.
        targets = start_servers(args, stack, cloud=cloud, parse=bool(workloads))
        seeded: dict[str, SeededData] = {}
        try:
            needed = needed_seeds(workloads)
            if needed:
                seeded = seed_servers(targets, size, needed)
            if cloud:
                prepare_cloud(targets)
            requests = prepare_requests(targets, workloads, seeded)
            check_samples(workloads, requests)
        except (SeedError, GuardError, CloudSetupError) as exc:
            print(f"bench/run.py: {exc}", file=sys.stderr)
            return 1
        if args.check_only:
            print("check only: both servers answered every sample request alike; no load was run")
            return 0
        context = run_context(
            wrk=wrk, options=options, warmup_seconds=args.warmup, postgres_url=args.postgres, targets=targets
        )
        if seeded and "objects" in needed:
            context["dataset"] = {
                "items": size.items, "comments": size.comments,
                "seed_seconds": {kind: data.seconds for kind, data in seeded.items()},
            }  # fmt: skip
        measurements = run_workloads(
            wrk=wrk, targets=targets, workloads=workloads, requests=requests, options=options, warmup=args.warmup
        )
        if seeded and "objects" in needed:
            context["indexes"] = {
                target.kind: index_usage(target.kind, target.details["database_url"]) for target in targets
            }
        cold = None
        if cold_start:
            # After the wrk workloads: each round activates a new version of the bench bundle.
            print(f"cold start: {args.cold_start_rounds} versions deployed with cloud_deploy, each called once",
                  flush=True)  # fmt: skip
            hangar = targets[0]
            env = hangar_environment(database_url=hangar.details["database_url"], redis_url=args.redis, port=0)
            try:
                cold = measure_cold_start(hangar, env, args.cold_start_rounds)
            except CloudSetupError as exc:
                print(f"bench/run.py: {exc}", file=sys.stderr)
                return 1
            context["cloud_cold_start"] = cold.as_dict()
    clear_file_stores()  # the uploads of the files workloads: up to a few GB
    # Timed after the servers stopped, so that nothing else runs on the machine meanwhile.
    provisioning: list[float] = []
    if args.provision_apps > 0:
        print(f"timing provisioning of {args.provision_apps} apps", flush=True)
        env = hangar_environment(database_url=targets[0].details["database_url"], redis_url=args.redis, port=0)
        provisioning = measure_provisioning(
            env=env, count=args.provision_apps, organization=BENCH_ORGANIZATION, owner=BENCH_OWNER
        )
    print("\n" + render_header(context) + "\n\n" + render_table(measurements))
    notes = render_workload_notes(workloads, measurements, args.connections)
    if notes:
        print("\n" + notes)
    targets_met = render_warm_targets(measurements)
    if targets_met:
        print("\n" + targets_met)
    if cold is not None:
        print("\n" + render_cold_start(cold))
    if "indexes" in context:
        print("\n" + render_index_usage(context["indexes"]))
    if provisioning:
        print("\n" + render_provisioning(provisioning))
    path = write_json(context=context, measurements=measurements, provisioning=provisioning)
    print(f"\nresults: {path}")
    return 0 if all(m.valid for m in measurements) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted; the servers were stopped", file=sys.stderr)
        sys.exit(130)
