"""``make soak``: Hangar alone, served by `make run`'s launcher, under a steady mixed load for ten minutes.

Creates, gets, queries and logins at a fixed rate, well below saturation, so that what
changes over time is Hangar, not the queue in front of it. Every minute: requests,
errors (a soak with any fails) and p50/p99 latency; every few seconds: the RSS of each
process of the group (launcher, uvicorn and its workers, Celery worker and its pool,
beat), and at the end the least-squares slope of each in MB/min. A process replaced
during the run fails it too. Parse Server is not run: the figures are Hangar's own
trend over time, not a comparison. See bench/README.md, "Soak".

    .venv/bin/python bench/soak.py [--duration 600] [--warmup 30] [--rate 40] [--concurrency 8]
        [--sample-every 5] [--workers N] [--items 1000]
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script (bench/soak.py): make the `bench` package importable.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.path.insert(1, str(Path(__file__).resolve().parents[1] / "platform"))  # hangar.launcher's serve flags

import argparse
import asyncio
import json
import os
import platform
import random
import signal
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Any

import httpx
import psutil

from bench.databases import database_recreate, redis_flush
from bench.dataset import ITEM_CLASS, WRITE_CLASS, DatasetSize, SeededData, SeedError, seed, seed_users
from bench.paths import PYTHON, REPO_DIR, WORK_DIR, log_path
from bench.processes import ServerProcess
from bench.servers import HOST, MOUNT, Target, hangar_bench_app_create, hangar_environment
from bench.soak_metrics import Answer, RssSample, minutes, render_minutes, render_rss, rss_trends

SOAK_DATABASE = "hangar_soak"
READY_TIMEOUT_SECONDS = 120
REQUEST_TIMEOUT_SECONDS = 10
OPERATIONS = ("create", "get", "query", "login")


def _mix(value: str) -> dict[str, int]:
    weights = {}
    for part in value.split(","):
        name, _, weight = part.partition("=")
        if name.strip() not in OPERATIONS or not weight.strip().isdigit():
            raise argparse.ArgumentTypeError(f"expected name=weight with names from {OPERATIONS}: {part!r}")
        weights[name.strip()] = int(weight)
    return weights


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/soak.py", description="Hangar under a steady mixed load.")
    add = parser.add_argument
    add("--duration", type=int, default=600, help="measured seconds (default 600)")
    add("--warmup", type=int, default=30, help="seconds of load before the measurement, discarded (default 30)")
    add("--rate", type=float, default=40.0, help="requests per second, all operations together (default 40)")
    add("--concurrency", type=int, default=8, help="load loops, each with one request in flight at most (default 8)")
    add("--mix", type=_mix, default=_mix("create=3,get=3,query=3,login=1"), help="operation weights")
    add("--sample-every", type=float, default=5.0, help="seconds between RSS samples (default 5)")
    add("--workers", type=int, default=os.cpu_count() or 1, help="uvicorn workers (WEB_CONCURRENCY; default cores)")
    add("--items", type=int, default=1000, help="BenchItems seeded for gets and queries (default 1000)")
    add("--postgres", default="postgresql://postgres@127.0.0.1:5432", help="PostgreSQL server URL (no database)")
    add("--redis", default="redis://127.0.0.1:6379/14", help="Hangar's Redis database; emptied at the start")
    return parser.parse_args(argv)


def _command(process: psutil.Process) -> str:
    try:
        return " ".join(process.cmdline())
    except psutil.Error:
        return ""


def process_labels(launcher_pid: int) -> dict[int, str]:
    """What each process of the launcher's group is, by pid."""
    try:
        root = psutil.Process(launcher_pid)
        children = root.children()
    except psutil.Error:
        return {}
    labels = {root.pid: "launcher"}
    for child in children:
        command = _command(child)
        if "uvicorn" in command:
            labels[child.pid] = "web-master"
            grandchildren = _children(child)
            workers = sorted(p.pid for p in grandchildren if "spawn_main" in _command(p))
            # multiprocessing's resource tracker is uvicorn's child too, beside the workers it spawns.
            labels.update({p.pid: "web-resource-tracker" for p in grandchildren if "resource_tracker" in _command(p)})
            labels.update({pid: f"web-{n}" for n, pid in enumerate(workers, 1)})
        elif " beat" in command:
            labels[child.pid] = "beat"
        elif " worker" in command:
            labels[child.pid] = "celery-worker"
            pool = sorted(p.pid for p in _children(child))
            labels.update({pid: f"celery-pool-{n}" for n, pid in enumerate(pool, 1)})
    return labels


def _children(process: psutil.Process) -> list[psutil.Process]:
    try:
        return process.children()
    except psutil.Error:
        return []


def _wait_until_ready(process: ServerProcess, base_url: str, workers: int) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline and process.alive():
        labels = set(process_labels(process.pid).values())
        complete = {"beat", "celery-worker", *(f"web-{n}" for n in range(1, workers + 1))} <= labels
        try:
            healthy = httpx.get(f"{base_url}/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            healthy = False
        if complete and healthy:
            return
        time.sleep(0.5)
    raise SeedError(f"Hangar did not become ready; {process.log_path}:\n{process.log_tail()}")


def start_hangar_group(args: argparse.Namespace) -> Target:
    """A fresh database and Redis database, the bench app, then `make run`'s launcher serving them."""
    redis_flush(args.redis)
    database_url = database_recreate(server_url=args.postgres, name=SOAK_DATABASE)
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port = int(sock.getsockname()[1])
    env = {
        **hangar_environment(database_url=database_url, redis_url=args.redis, port=port),
        "HOST": HOST, "PORT": str(port), "WEB_CONCURRENCY": str(args.workers),
    }  # fmt: skip
    created = hangar_bench_app_create(env)
    command = [PYTHON, "-m", "hangar.launcher", "run"]
    process = ServerProcess("hangar", command, env=env, cwd=REPO_DIR, log_path=log_path("soak-hangar"))
    base_url = f"http://{HOST}:{port}{MOUNT}"
    target = Target(
        kind="hangar", base_url=base_url, application_id=created["application_id"],
        keys={"master": created["keys"]["master"], "rest": created["keys"]["rest"]}, process=process,
        details={"workers": args.workers, "command": command, "database_url": database_url},
    )  # fmt: skip
    try:
        _wait_until_ready(process, base_url, args.workers)
    except BaseException:
        process.stop()
        raise
    return target


@dataclass(frozen=True)
class Plan:
    """Everything the load loops need: the app, the seeded ids, the login, the pacing."""

    target: Target
    data: SeededData
    rate: float
    concurrency: int
    mix: dict[str, int]
    measured_start: float  # time.monotonic() at which the measured period starts
    end: float


def _request(plan: Plan, operation: str, rng: random.Random, n: int) -> tuple[str, str, dict[str, Any] | None]:
    items = plan.data.items
    if operation == "create":
        return "POST", f"/classes/{WRITE_CLASS}", {"score": n, "name": f"soak-{n}"}
    if operation == "get":
        return "GET", f"/classes/{ITEM_CLASS}/{rng.choice(items)}", None
    if operation == "query":
        bound = rng.randrange(max(1, len(items) - 20))
        where = json.dumps({"score": {"$gte": bound}})
        return "GET", f"/classes/{ITEM_CLASS}?where={where}&order=score&limit=20", None
    user = plan.data.login_user
    assert user is not None
    return "POST", "/login", {"username": user.username, "password": user.password}


async def _loop(plan: Plan, index: int, answers: list[Answer]) -> None:
    """One load loop: requests at rate/concurrency per second, one in flight at most, until the end."""
    rng = random.Random(index)  # noqa: S311 (a load pattern, not a secret)
    names, weights = list(plan.mix), list(plan.mix.values())
    interval = plan.concurrency / plan.rate
    due = time.monotonic() + index * interval / plan.concurrency  # loops evenly staggered
    n = 0
    async with httpx.AsyncClient(
        base_url=plan.target.base_url, headers=plan.target.key_headers("rest"), timeout=REQUEST_TIMEOUT_SECONDS
    ) as client:
        while due < plan.end:
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            operation = rng.choices(names, weights)[0]
            method, path, body = _request(plan, operation, rng, index * 10_000_000 + n)
            started = time.monotonic()
            try:
                status: int | None = (await client.request(method, path, json=body)).status_code
            except httpx.HTTPError:
                status = None
            finished = time.monotonic()
            if started >= plan.measured_start:
                answers.append(Answer(started - plan.measured_start, operation, status, (finished - started) * 1000))
            n += 1
            due += interval


def _sample_rss(launcher_pid: int, plan: Plan, every: float, samples: list[RssSample], stop: threading.Event) -> None:
    while not stop.is_set():
        now = time.monotonic()
        if now >= plan.measured_start:
            for pid, label in process_labels(launcher_pid).items():
                try:
                    rss = psutil.Process(pid).memory_info().rss
                except psutil.Error:
                    continue
                samples.append(RssSample(now - plan.measured_start, pid, label, rss))
        stop.wait(every)


def _print_minutes_as_they_end(plan: Plan, answers: list[Answer], duration: int, stop: threading.Event) -> None:
    """A line per minute while the soak runs (the table at the end is the result)."""
    printed, total = 0, -(-duration // 60)
    while printed < total:
        ended = stop.wait(1.0)
        elapsed = time.monotonic() - plan.measured_start
        while printed < total and (ended or elapsed >= (printed + 1) * 60):
            row = minutes(list(answers), duration)[printed]
            print(f"  minute {row['minute']}: {row['requests']} requests, {row['errors']} errors, "
                  f"p50 {row['p50_ms']:.2f} ms, p99 {row['p99_ms']:.2f} ms", flush=True)  # fmt: skip
            printed += 1


def run_soak(args: argparse.Namespace, target: Target, data: SeededData) -> tuple[list[Answer], list[RssSample]]:
    start = time.monotonic()
    plan = Plan(
        target=target, data=data, rate=args.rate, concurrency=args.concurrency, mix=args.mix,
        measured_start=start + args.warmup, end=start + args.warmup + args.duration,
    )  # fmt: skip
    answers: list[Answer] = []
    samples: list[RssSample] = []
    stop = threading.Event()
    threads = [
        threading.Thread(target=_sample_rss, args=(target.process.pid, plan, args.sample_every, samples, stop)),
        threading.Thread(target=_print_minutes_as_they_end, args=(plan, answers, args.duration, stop)),
    ]
    for thread in threads:
        thread.start()

    async def load() -> None:
        await asyncio.gather(*(_loop(plan, index, answers) for index in range(args.concurrency)))

    try:
        asyncio.run(load())
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    return answers, samples


def _replaced(samples: Sequence[RssSample], every: float) -> list[str]:
    """Processes that appeared after the first samples or vanished before the last: a restart during the soak."""
    if not samples:
        return []
    first, last = min(s.at for s in samples), max(s.at for s in samples)
    seen: dict[int, list[float]] = {}
    labels = {}
    for sample in samples:
        seen.setdefault(sample.pid, []).append(sample.at)
        labels[sample.pid] = sample.label
    return [f"{labels[pid]} (pid {pid})" for pid, times in seen.items()
            if min(times) > first + every or max(times) < last - every]  # fmt: skip


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # unwind like Ctrl-C, so that the launcher is stopped


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    print(f"starting Hangar with `make run`'s launcher: {args.workers} web workers, database {SOAK_DATABASE}",
          flush=True)  # fmt: skip
    target = start_hangar_group(args)
    try:
        data = seed(target, DatasetSize(items=args.items, comments=100))
        data = seed_users(target, data)
        print(f"seeded {args.items} items and the login user in {data.seconds:.1f} s; "
              f"{args.warmup} s warm-up, then {args.duration} s at {args.rate:g} req/s", flush=True)  # fmt: skip
        answers, samples = run_soak(args, target, data)
    finally:
        target.process.stop()
    rows = minutes(answers, args.duration)
    trends = rss_trends(samples)
    replaced = _replaced(samples, args.sample_every)
    errors = sum(row["errors"] for row in rows)
    print("\n" + render_minutes(rows) + "\n\n" + render_rss(trends))
    if errors:
        first = next(a for a in answers if a.error)
        print(f"\nFAILED: {errors} errors (first: {first.operation} at {first.at:.1f} s, status {first.status})")
    if replaced:
        print(f"\nFAILED: processes replaced during the soak: {', '.join(replaced)}")
    path = _write_results(args, rows, trends, replaced, len(answers))
    print(f"\nresults: {path}")
    return 1 if errors or replaced else 0


def _write_results(
    args: argparse.Namespace, rows: list[dict[str, Any]], trends: list[dict[str, Any]], replaced: list[str],
    requests: int,
) -> Path:  # fmt: skip
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    path = WORK_DIR / f"soak-{time.strftime('%Y%m%d-%H%M%S')}.json"
    configuration = {k: v for k, v in vars(args).items() if k not in {"postgres"}}
    document = {
        "context": {
            "configuration": configuration, "machine": {"cores": os.cpu_count(), "platform": platform.platform(),
                                                       "python": platform.python_version()},
        },
        "requests": requests, "minutes": rows, "rss": trends, "replaced_processes": replaced,
    }  # fmt: skip
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted; Hangar was stopped", file=sys.stderr)
        sys.exit(130)
