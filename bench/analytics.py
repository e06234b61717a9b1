"""Analytics and metering on a Hangar of its own: events ingested per second, and the data API's
throughput with request metering on against off (bench/README.md, "Analytics and metering").

    .venv/bin/python bench/analytics.py [--duration 10] [--connections 64] [--workers 2] [--rounds 2]

1. ``events``: wrk sends ``POST /parse/events/BenchEvent`` (two string dimensions, REST key)
   for the measured seconds; then, after the buffer's flush interval, the rows in
   ``analytics_event`` are counted: every 2xx answer must be a stored row (else INVALID), and
   events/s = stored rows / measured seconds.
   (Up to one request per connection may be stored but not counted by wrk: in flight at its deadline.)
2. ``metering``: ``GET /parse/classes/BenchItem/<id>`` (REST key), on a server with
   ``HANGAR_METERING=true`` and on one with ``false`` (each on a fresh database), alternated
   ``--rounds`` times; the overhead is 1 - (req/s on) / (req/s off), with CPU ms per request
   beside it (the steadier figure on this machine).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the repository root is the import root, as for bench/run.py
    sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parents[1] / "platform")]

import httpx
import psycopg

from bench.databases import database_recreate, redis_flush
from bench.install import ensure_wrk
from bench.load import LoadOptions, run_wrk, write_request_file
from bench.measure import Measurement, measure
from bench.paths import WORK_DIR
from bench.servers import KEY_HEADERS, Target, start_hangar
from bench.workloads import HttpRequest

DATABASE = "hangar_bench_analytics"
EVENT_BODY = '{"dimensions":{"source":"bench","plan":"free"}}'
FLUSH_WAIT_SECONDS = 5.0  # well above HANGAR_ANALYTICS_FLUSH_SECONDS (1 s)


@dataclass(frozen=True)
class _Named:
    name: str  # what bench.measure needs of a workload


@dataclass(frozen=True)
class EventsResult:
    answered: int
    non_2xx: int
    socket_errors: int
    stored: int
    seconds: float
    p50_ms: float
    p99_ms: float
    cpu_ms_per_event: float
    # CPU microseconds per stored event: the load generator (wrk), PostgreSQL + Redis (shared with
    # anyone else on the machine), and what the machine spent on other processes meanwhile.
    wrk_us_per_event: float = 0.0
    backing_us_per_event: float = 0.0
    others_cpu_seconds: float = 0.0
    load_average: tuple[float, float, float] = (0.0, 0.0, 0.0)

    @property
    def events_per_second(self) -> float:
        return self.stored / self.seconds if self.seconds else 0.0

    connections: int = 0

    @property
    def valid(self) -> bool:
        """No error, and every answered event stored. wrk stops counting at the deadline, so up to one
        request per connection was still in flight then: answered by the server, stored, not counted."""
        in_flight = self.stored - self.answered
        return self.non_2xx == 0 and self.socket_errors == 0 and 0 <= in_flight <= self.connections


def _headers(target: Target) -> dict[str, str]:
    return {"X-Parse-Application-Id": target.application_id, KEY_HEADERS["rest"]: target.keys["rest"],
            "Content-Type": "application/json"}  # fmt: skip


@contextmanager
def _hangar(args: argparse.Namespace, *, metering: bool) -> Iterator[tuple[Target, str]]:
    os.environ["HANGAR_METERING"] = "true" if metering else "false"
    redis_flush(args.redis)
    database_url = database_recreate(server_url=args.postgres, name=args.database)
    target = start_hangar(database_url=database_url, redis_url=args.redis, workers=args.workers,
                          log_name=f"hangar-analytics-{'on' if metering else 'off'}")  # fmt: skip
    try:
        yield target, database_url
    finally:
        target.process.stop()


def run_events(args: argparse.Namespace, wrk: str) -> EventsResult:
    from bench.cpu import CpuSample

    with _hangar(args, metering=True) as (target, database_url):
        request = HttpRequest(method="POST", url=f"{target.base_url}/events/BenchEvent", headers=_headers(target),
                              body=EVENT_BODY)  # fmt: skip
        request_file = write_request_file(request, "analytics-events")
        options = LoadOptions(connections=args.connections, threads=args.threads, seconds=args.duration)
        before = CpuSample.take(target.process.pid)
        profiler_cpu: list[float] = []
        with _py_spy(args.py_spy, target, seconds=args.duration, cpu=profiler_cpu):
            result = run_wrk(wrk, request, request_file, options)
        time.sleep(FLUSH_WAIT_SECONDS)  # the last partial batches are written after the flush interval
        spent = CpuSample.take(target.process.pid) - before
        # py-spy is reaped like wrk: its CPU is not the load generator's.
        spent = replace(spent, load_generator=spent.load_generator - sum(profiler_cpu))
        load = os.getloadavg()
        with psycopg.connect(database_url) as conn:
            row = conn.execute("SELECT count(*) FROM analytics_event WHERE name = 'BenchEvent'").fetchone()
        stored = int(row[0]) if row else 0
    return EventsResult(
        answered=result.requests - result.non_2xx, non_2xx=result.non_2xx,
        socket_errors=sum(result.socket_errors.values()), stored=stored, seconds=result.seconds,
        p50_ms=result.p50_ms, p99_ms=result.p99_ms,
        cpu_ms_per_event=spent.server * 1000 / stored if stored else 0.0, connections=args.connections,
        wrk_us_per_event=spent.load_generator * 1e6 / stored if stored else 0.0,
        backing_us_per_event=spent.backing * 1e6 / stored if stored else 0.0, others_cpu_seconds=spent.others,
        load_average=(round(load[0], 2), round(load[1], 2), round(load[2], 2)),
    )  # fmt: skip


@contextmanager
def _py_spy(py_spy: str | None, target: Target, *, seconds: int, cpu: list[float]) -> Iterator[None]:
    """With ``--py-spy``, sample one uvicorn worker for the measured seconds into bench/.work (raw format:
    one stack per line with its count, for flamegraph.pl or a sort by frame)."""
    if not py_spy:
        yield
        return
    import subprocess

    import psutil

    workers = [
        p for p in psutil.Process(target.process.pid).children(recursive=True) if "spawn_main" in " ".join(p.cmdline())
    ]
    output = WORK_DIR / f"analytics-events-py-spy-{datetime.now(UTC):%Y%m%d-%H%M%S}.txt"
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    command = [py_spy, "record", "--pid", str(workers[0].pid), "--duration", str(seconds), "--rate", "200",
               "--format", "raw", "--output", str(output), "--nonblocking"]  # fmt: skip
    spy = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        from bench.cpu import reaped_children_cpu_seconds

        reaped = reaped_children_cpu_seconds()
        spy.wait(timeout=seconds + 30)
        cpu.append(reaped_children_cpu_seconds() - reaped)  # py-spy's own CPU, once reaped
        print(f"py-spy profile of worker {workers[0].pid}: {output}")


def _seed_item(target: Target) -> str:
    # The master key: a client key may not create a class (Parse's allowClientClassCreation is off).
    headers = {**_headers(target), KEY_HEADERS["master"]: target.keys["master"]}
    response = httpx.post(
        f"{target.base_url}/classes/BenchItem", json={"score": 1, "name": "metered"}, headers=headers, timeout=10
    )
    response.raise_for_status()
    return str(response.json()["objectId"])


def run_metering(args: argparse.Namespace, wrk: str) -> dict[str, list[Measurement]]:
    runs: dict[str, list[Measurement]] = {"on": [], "off": []}
    options = LoadOptions(connections=args.connections, threads=args.threads, seconds=args.duration)
    for _ in range(args.rounds):
        for label, metering in (("off", False), ("on", True)):
            with _hangar(args, metering=metering) as (target, _url):
                object_id = _seed_item(target)
                request = HttpRequest(method="GET", url=f"{target.base_url}/classes/BenchItem/{object_id}",
                                      headers=_headers(target), body="")  # fmt: skip
                measured = measure(wrk=wrk, target=target, workload=_Named(f"get-metering-{label}"), request=request,
                                   options=options, warmup_seconds=args.warmup)  # fmt: skip
                runs[label].append(measured)
    return runs


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def render(events: EventsResult | None, runs: dict[str, list[Measurement]] | None) -> str:
    lines = []
    if events is not None:
        lines.append(
            f"events: {events.events_per_second:,.0f} events/s stored ({events.stored} of {events.answered} answered,"
            f" {events.non_2xx} non-2xx, {events.socket_errors} socket errors), p50 {events.p50_ms:.1f} ms,"
            f" p99 {events.p99_ms:.1f} ms; CPU per event: server {events.cpu_ms_per_event * 1000:.0f} us,"
            f" wrk {events.wrk_us_per_event:.0f} us, PostgreSQL+Redis {events.backing_us_per_event:.0f} us"
            f" (other processes: {events.others_cpu_seconds:.1f} CPU s; load average"
            f" {' '.join(str(x) for x in events.load_average)})" + ("" if events.valid else "  INVALID")
        )
    if runs:
        on = _mean([m.load.requests_per_second for m in runs["on"]])
        off = _mean([m.load.requests_per_second for m in runs["off"]])
        cpu_on = _mean([m.cpu_ms_per_request for m in runs["on"]])
        cpu_off = _mean([m.cpu_ms_per_request for m in runs["off"]])
        valid = all(m.valid for m in runs["on"] + runs["off"])
        overhead = 100 * (1 - on / off) if off else 0.0
        cpu_change = 100 * (cpu_on / cpu_off - 1) if cpu_off else 0.0
        lines.append(
            f"metering: get-by-id {off:,.0f} req/s off, {on:,.0f} req/s on: overhead {overhead:.1f}%"
            f"; CPU {cpu_off:.3f} ms/req off, {cpu_on:.3f} on ({cpu_change:+.1f}%)" + ("" if valid else "  INVALID")
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/analytics.py", description=__doc__.split("\n")[0])
    add = parser.add_argument
    add("--duration", type=int, default=10, help="measured seconds per run (default 10)")
    add("--warmup", type=int, default=2, help="discarded seconds before each metering run (default 2)")
    add("--connections", type=int, default=64)
    add("--threads", type=int, default=2)
    add("--workers", type=int, default=os.cpu_count() or 1, help="uvicorn processes (default: one per core)")
    add("--rounds", type=int, default=2, help="metering off/on pairs, alternated (default 2)")
    add("--only", choices=["events", "metering"], help="run one of the two")
    add("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    add("--redis", default="redis://127.0.0.1:6379/14", help="emptied at the start of each server")
    add("--py-spy", metavar="PATH", help="py-spy executable: profile one server worker during the events run")
    add("--database", default=DATABASE, help=f"Hangar's database, recreated for each server (default {DATABASE})")
    args = parser.parse_args(argv)
    wrk = ensure_wrk()
    events = run_events(args, wrk) if args.only in (None, "events") else None
    runs = run_metering(args, wrk) if args.only in (None, "metering") else None
    print(render(events, runs))
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    path = WORK_DIR / f"analytics-{datetime.now(UTC):%Y%m%d-%H%M%S}.json"
    events_json = asdict(events) | {"events_per_second": events.events_per_second} if events else None
    path.write_text(json.dumps({
        "options": vars(args), "events": events_json,
        "metering": {label: [m.as_dict() for m in ms] for label, ms in runs.items()} if runs else None,
    }, indent=2, default=str))  # fmt: skip
    print(f"results: {path}")
    valid = (events is None or events.valid) and (runs is None or all(m.valid for ms in runs.values() for m in ms))
    return 0 if valid else 1


if __name__ == "__main__":
    sys.exit(main())
