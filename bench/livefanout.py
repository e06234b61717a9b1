"""The ``live-fanout`` benchmark: N LiveQuery subscribers on one class, writes through REST, delivery timed.

For each subscriber count and each server (the order alternates per count):

1. G load-generator processes (bench/livegen.py) open N WebSocket connections between
   them, each speaking the Parse LiveQuery protocol: ``connect`` with the app id and
   REST key, then one ``subscribe`` to ``BenchLive`` with a ``where`` every write
   matches. The server's RSS (all its processes) is read before and after, with the
   connections idle: memory per connection. How the connections landed on the
   server's worker processes is read from /proc.
2. steady: a writer creates ``BenchLive`` objects through ``POST /classes/BenchLive``
   at ``rate`` per second for ``duration`` seconds and records each write's response
   time; every event the subscribers receive carries the object's id, so each delivery
   is timed from that write's response (CLOCK_MONOTONIC, one clock for all processes).
3. burst: writes back to back (4 in flight) until ``burst_deliveries`` deliveries are
   due (at least 10 writes): the fan-out rate the server sustains, deliveries/s from
   the first write to the last delivery.

After each phase the harness waits until every delivery arrived, or until none has
arrived for ``stall_seconds``: what is missing is reported as lost and makes the run
INVALID, as does a subscriber that could not subscribe or was disconnected.
CPU time is sampled around each phase for the server's processes, every generator
process and the whole machine.
"""

from __future__ import annotations

import asyncio
import json
import math
import pickle
import resource
import subprocess
import sys
import time
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO, Any

import httpx
import psutil

from bench.cpu import backing_services_cpu_seconds, machine_busy_cpu_seconds, tree_cpu_seconds
from bench.paths import BENCH_DIR, PYTHON, WORK_DIR, log_path
from bench.servers import Target

LIVE_CLASS = "BenchLive"
LIVE_SCHEMA = {
    "className": LIVE_CLASS,
    "fields": {"kind": {"type": "String"}, "score": {"type": "Number"}, "name": {"type": "String"}},
}
# Every write matches (an equality, which every LiveQuery server supports): one delivery per subscriber.
LIVE_WHERE = {"kind": "live"}
BURST_IN_FLIGHT = 4
MIN_BURST_WRITES = 10
GENERATOR_CPU_LIMIT = 0.8  # share of one core above which a generator process may be what limits the figures
READY_TIMEOUT_PER_1000 = 30.0  # seconds allowed per 1000 connections per generator to connect and subscribe


class LiveRunError(RuntimeError):
    """The live-fanout run could not be carried out (a generator died, the server refused, ...)."""


@dataclass(frozen=True)
class LiveOptions:
    subscribers: Sequence[int]
    rate: float = 1.0
    duration: float = 10.0
    burst_deliveries: int = 200_000
    generators: int = 2
    handshakes_in_flight: int = 100
    stall_seconds: float = 10.0
    connect_timeout: float = 30.0


@dataclass
class Write:
    object_id: str
    sent: float
    responded: float


@dataclass
class PhaseResult:
    name: str  # "steady" or "burst"
    writes: int
    write_p50_ms: float
    expected: int
    received: int
    deliveries_per_second: float
    latency_ms: dict[str, float]  # from the write's response: p50, p99, max, min
    latency_from_send_ms: dict[str, float]  # from the write's request
    wall_seconds: float
    server_cpu_seconds: float
    backing_cpu_seconds: float
    generator_cpu_shares: list[float]  # per generator process, share of one core over the phase
    writer_cpu_share: float  # the harness process (writer, drain polling), share of one core
    others_share: float  # share of the machine's capacity used by processes outside the benchmark

    @property
    def lost(self) -> int:
        return max(0, self.expected - self.received)

    @property
    def server_cpu_share(self) -> float:
        return self.server_cpu_seconds / self.wall_seconds if self.wall_seconds else 0.0

    @property
    def server_cpu_us_per_delivery(self) -> float:
        return 1e6 * self.server_cpu_seconds / self.received if self.received else math.nan

    def as_dict(self) -> dict[str, Any]:
        return {
            "phase": self.name, "writes": self.writes, "write_p50_ms": self.write_p50_ms,
            "deliveries_expected": self.expected, "deliveries_received": self.received, "lost": self.lost,
            "deliveries_per_second": self.deliveries_per_second, "latency_ms": self.latency_ms,
            "latency_from_send_ms": self.latency_from_send_ms, "wall_seconds": self.wall_seconds,
            "server_cpu_seconds": self.server_cpu_seconds, "server_cpu_share": self.server_cpu_share,
            "server_cpu_us_per_delivery": self.server_cpu_us_per_delivery,
            "backing_cpu_seconds": self.backing_cpu_seconds, "generator_cpu_shares": self.generator_cpu_shares,
            "writer_cpu_share": self.writer_cpu_share, "others_share": self.others_share,
        }  # fmt: skip


@dataclass
class LiveResult:
    server: str
    subscribers: int
    generators: int
    subscribed: int = 0
    failed: int = 0
    closed_by_server: int = 0
    other_frames: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    connect_seconds: float = 0.0
    rss_before_bytes: int = 0
    rss_after_bytes: int = 0
    connections_per_process: dict[int, int] = field(default_factory=dict)
    phases: list[PhaseResult] = field(default_factory=list)

    @property
    def memory_per_connection_kb(self) -> float:
        return (self.rss_after_bytes - self.rss_before_bytes) / 1024 / self.subscribed if self.subscribed else math.nan

    @property
    def generator_bound(self) -> bool:
        return any(share > GENERATOR_CPU_LIMIT for phase in self.phases for share in phase.generator_cpu_shares)

    @property
    def valid(self) -> bool:
        return (
            bool(self.phases) and self.failed == 0 and self.closed_by_server == 0
            and self.subscribed == self.subscribers and not self.other_frames
            and all(phase.lost == 0 for phase in self.phases)
        )  # fmt: skip

    def phase(self, name: str) -> PhaseResult | None:
        return next((phase for phase in self.phases if phase.name == name), None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "server": self.server, "subscribers": self.subscribers, "generators": self.generators,
            "subscribed": self.subscribed, "failed": self.failed, "closed_by_server": self.closed_by_server,
            "other_frames": self.other_frames, "errors": self.errors, "connect_seconds": self.connect_seconds,
            "rss_before_bytes": self.rss_before_bytes, "rss_after_bytes": self.rss_after_bytes,
            "memory_per_connection_kb": self.memory_per_connection_kb,
            "connections_per_process": {str(pid): n for pid, n in self.connections_per_process.items()},
            "generator_bound": self.generator_bound, "valid": self.valid,
            "phases": [phase.as_dict() for phase in self.phases],
        }  # fmt: skip


# ----------------------------------------------------------------------------------------------
# measurements of the server


def server_port(target: Target) -> int:
    return int(httpx.URL(target.base_url).port or 80)


def tree_rss_bytes(pid: int) -> int:
    """Resident memory of a process and its descendants (the server's master and workers)."""
    try:
        root = psutil.Process(pid)
        members = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for process in members:
        try:
            total += process.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total


def settled_rss_bytes(pid: int, seconds: float, samples: int = 5) -> int:
    """The median of ``samples`` readings of the server's RSS over ``seconds``: one garbage collection moves less."""
    readings = []
    for _ in range(samples):
        time.sleep(seconds / samples)
        readings.append(tree_rss_bytes(pid))
    return sorted(readings)[len(readings) // 2]


def connections_per_process(pid: int, port: int) -> dict[int, int]:
    """Established TCP connections on the server's port, per server process: how they spread over workers."""
    try:
        root = psutil.Process(pid)
        members = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return {}
    counts: dict[int, int] = {}
    for process in members:
        try:
            connections = process.net_connections(kind="tcp")
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        established = sum(
            1 for c in connections if c.status == psutil.CONN_ESTABLISHED and c.laddr and c.laddr.port == port
        )
        if established:
            counts[process.pid] = established
    return counts


def percentiles_ms(values: Sequence[float]) -> dict[str, float]:
    """p50/p99/min/max in milliseconds of seconds ``values`` (nearest-rank)."""
    if not values:
        return {"p50": math.nan, "p99": math.nan, "min": math.nan, "max": math.nan}
    ordered = sorted(values)

    def rank(q: float) -> float:
        return 1000 * ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]

    return {"p50": rank(0.50), "p99": rank(0.99), "min": 1000 * ordered[0], "max": 1000 * ordered[-1]}


# ----------------------------------------------------------------------------------------------
# the load generators


class GeneratorPool:
    """G livegen.py processes, each holding a slice of the subscribers; commands over their stdin."""

    def __init__(self, *, target: Target, subscribers: int, options: LiveOptions, label: str) -> None:
        self.processes: list[subprocess.Popen[str]] = []
        self.receipts_paths = []
        count = max(1, min(options.generators, subscribers))
        slices = [subscribers // count + (1 if i < subscribers % count else 0) for i in range(count)]
        (WORK_DIR / "live").mkdir(parents=True, exist_ok=True)
        for index, size in enumerate(slices):
            receipts = WORK_DIR / "live" / f"receipts-{label}-{index}.pickle"
            receipts.unlink(missing_ok=True)
            config = {
                "host": "127.0.0.1", "port": server_port(target), "path": httpx.URL(target.base_url).path,
                "count": size, "timeout": options.connect_timeout,
                "handshakes_in_flight": max(1, options.handshakes_in_flight // count),
                "connect": {"applicationId": target.application_id, "restAPIKey": target.keys["rest"]},
                "query": {"className": LIVE_CLASS, "where": LIVE_WHERE},
                "receipts_path": str(receipts),
            }  # fmt: skip
            stderr = log_path(f"livegen-{label}-{index}").open("wb")
            self.processes.append(
                subprocess.Popen(
                    [PYTHON, str(BENCH_DIR / "livegen.py"), json.dumps(config)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=stderr,
                    text=True,
                )
            )
            self.receipts_paths.append(receipts)
        self._ready_timeout = READY_TIMEOUT_PER_1000 * max(1.0, max(slices) / 1000)

    def _read(self, process: subprocess.Popen[str]) -> dict[str, Any]:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise LiveRunError(f"load generator {process.pid} exited ({process.poll()}); see bench/.work/logs/")
        return dict(json.loads(line))

    def _command(self, command: str) -> list[dict[str, Any]]:
        for process in self.processes:
            stdin: IO[str] | None = process.stdin
            assert stdin is not None
            stdin.write(command + "\n")
            stdin.flush()
        return [self._read(process) for process in self.processes]

    def wait_ready(self) -> list[dict[str, Any]]:
        """Block until every generator reports its connections subscribed (or failed); bounded in time."""
        deadline = time.monotonic() + self._ready_timeout
        statuses = []
        for process in self.processes:
            assert process.stdout is not None
            while time.monotonic() < deadline:
                ready, _, _ = _select([process.stdout], deadline - time.monotonic())
                if ready:
                    statuses.append(self._read(process))
                    break
            else:
                raise LiveRunError(f"the load generators did not connect within {self._ready_timeout:.0f} s")
        return statuses

    def received(self) -> int:
        return sum(int(status["received"]) for status in self._command("count"))

    def cpu_seconds(self) -> list[float]:
        return [tree_cpu_seconds(process.pid) for process in self.processes]

    def stop(self) -> tuple[list[dict[str, Any]], dict[bytes, array[float]]]:
        """Close every connection; return the generators' last statuses and all receipts merged."""
        statuses = self._command("stop")
        receipts: dict[bytes, array[float]] = {}
        for process, path in zip(self.processes, self.receipts_paths, strict=True):
            process.wait(timeout=30)
            # Written by our own generator process a moment ago, never by anyone else.
            for object_id, times in pickle.loads(path.read_bytes()).items():  # noqa: S301
                receipts.setdefault(object_id, array("d")).extend(times)
            path.unlink(missing_ok=True)
        return statuses, receipts

    def kill(self) -> None:
        """On an error: stop generators this pool started (by their own PID)."""
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)


def _select(streams: list[IO[str]], timeout: float) -> tuple[list[Any], list[Any], list[Any]]:
    import select

    return select.select(streams, [], [], max(0.0, timeout))


# ----------------------------------------------------------------------------------------------
# the writer


async def _write_one(client: httpx.AsyncClient, target: Target, seq: int) -> Write:
    sent = time.monotonic()
    response = await client.post(
        f"{target.base_url}/classes/{LIVE_CLASS}", json={"kind": "live", "score": seq, "name": f"live-{seq}"},
        headers=target.key_headers("rest"),
    )  # fmt: skip
    responded = time.monotonic()
    if response.status_code not in (200, 201):
        raise LiveRunError(f"{target.kind}: write answered {response.status_code}: {response.text[:300]}")
    return Write(object_id=str(response.json()["objectId"]), sent=sent, responded=responded)


async def _steady_writes(target: Target, rate: float, duration: float, first_seq: int) -> list[Write]:
    """One write every 1/rate seconds on a fixed schedule (a slow answer does not shift the next write)."""
    count = max(1, round(rate * duration))
    async with httpx.AsyncClient(timeout=30) as client:
        start = time.monotonic()

        async def scheduled(i: int) -> Write:
            await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
            return await _write_one(client, target, first_seq + i)

        return list(await asyncio.gather(*(scheduled(i) for i in range(count))))


async def _burst_writes(target: Target, count: int, first_seq: int) -> list[Write]:
    """``count`` writes back to back, BURST_IN_FLIGHT at a time."""
    semaphore = asyncio.Semaphore(BURST_IN_FLIGHT)
    async with httpx.AsyncClient(timeout=30) as client:

        async def one(i: int) -> Write:
            async with semaphore:
                return await _write_one(client, target, first_seq + i)

        return list(await asyncio.gather(*(one(i) for i in range(count))))


# ----------------------------------------------------------------------------------------------
# one run


@dataclass
class _PhaseSample:
    wall: float
    server: float
    backing: float
    machine: float
    generators: list[float]
    harness: float  # this process: the writer and the drain polling

    @classmethod
    def take(cls, server_pid: int, pool: GeneratorPool) -> _PhaseSample:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return cls(
            wall=time.monotonic(), server=tree_cpu_seconds(server_pid), backing=backing_services_cpu_seconds(),
            machine=machine_busy_cpu_seconds(), generators=pool.cpu_seconds(),
            harness=usage.ru_utime + usage.ru_stime,
        )  # fmt: skip


def _drain(pool: GeneratorPool, expected_total: int, stall_seconds: float) -> int:
    """Wait until ``expected_total`` events have arrived, or none has for ``stall_seconds``; return the count."""
    received = pool.received()
    last_progress = time.monotonic()
    while received < expected_total and time.monotonic() - last_progress < stall_seconds:
        time.sleep(0.1)
        now_received = pool.received()
        if now_received != received:
            received, last_progress = now_received, time.monotonic()
    return received


def _phase(
    name: str, *, target: Target, pool: GeneratorPool, subscribers: int, writes_coroutine: Any,
    received_before: int, stall_seconds: float,
) -> tuple[list[Write], _PhaseSample, _PhaseSample, int]:  # fmt: skip
    before = _PhaseSample.take(target.process.pid, pool)
    writes: list[Write] = asyncio.run(writes_coroutine)
    received = _drain(pool, received_before + len(writes) * subscribers, stall_seconds)
    after = _PhaseSample.take(target.process.pid, pool)
    return writes, before, after, received


def _summarise(
    name: str, writes: list[Write], before: _PhaseSample, after: _PhaseSample, receipts: dict[bytes, array[float]],
    subscribers: int,
) -> PhaseResult:  # fmt: skip
    from_response: list[float] = []
    from_send: list[float] = []
    last_receipt = 0.0
    for write in writes:
        times = receipts.get(write.object_id.encode(), array("d"))
        from_response.extend(t - write.responded for t in times)
        from_send.extend(t - write.sent for t in times)
        if times:
            last_receipt = max(last_receipt, max(times))
    received = len(from_response)
    first_sent = min(write.sent for write in writes)
    span = (last_receipt - first_sent) if received else 0.0
    wall = after.wall - before.wall
    cores = psutil.cpu_count() or 1
    server_cpu, backing_cpu = after.server - before.server, after.backing - before.backing
    generator_cpu = [a - b for a, b in zip(after.generators, before.generators, strict=True)]
    harness_cpu = after.harness - before.harness
    others = max(0.0, (after.machine - before.machine) - server_cpu - backing_cpu - sum(generator_cpu) - harness_cpu)
    write_times = sorted(w.responded - w.sent for w in writes)
    return PhaseResult(
        name=name, writes=len(writes), write_p50_ms=1000 * write_times[len(write_times) // 2],
        expected=len(writes) * subscribers, received=received,
        deliveries_per_second=received / span if span > 0 else math.nan,
        latency_ms=percentiles_ms(from_response), latency_from_send_ms=percentiles_ms(from_send),
        wall_seconds=wall, server_cpu_seconds=server_cpu, backing_cpu_seconds=backing_cpu,
        generator_cpu_shares=[cpu / wall for cpu in generator_cpu] if wall else [],
        writer_cpu_share=harness_cpu / wall if wall else 0.0,
        others_share=others / (wall * cores) if wall else 0.0,
    )  # fmt: skip


def ensure_live_class(target: Target) -> None:
    """Create BenchLive with the master key, so that the REST key may write to it (as the data workloads)."""
    response = httpx.post(
        f"{target.base_url}/schemas/{LIVE_CLASS}", json=LIVE_SCHEMA, headers=target.key_headers("master"), timeout=30
    )
    if response.status_code not in (200, 201) and "already exists" not in response.text:
        raise LiveRunError(f"{target.kind}: creating {LIVE_CLASS} answered {response.status_code}: {response.text}")


def run_one(target: Target, subscribers: int, options: LiveOptions, first_seq: int) -> LiveResult:
    """One server, one subscriber count: connect, measure memory, steady phase, burst phase, disconnect."""
    result = LiveResult(server=target.kind, subscribers=subscribers, generators=min(options.generators, subscribers))
    result.rss_before_bytes = settled_rss_bytes(target.process.pid, 1.0)
    started = time.monotonic()
    pool = GeneratorPool(target=target, subscribers=subscribers, options=options, label=f"{target.kind}-{subscribers}")
    try:
        statuses = pool.wait_ready()
        result.connect_seconds = time.monotonic() - started
        result.subscribed = sum(int(s["subscribed"]) for s in statuses)
        result.failed = sum(int(s["failed"]) for s in statuses)
        result.errors = list(dict.fromkeys(error for s in statuses for error in s["errors"]))[:5]  # distinct
        if result.subscribed == 0:
            raise LiveRunError(f"{target.kind}: no subscriber could subscribe: {result.errors}")
        # idle: the connections' memory, not the handshakes' garbage
        result.rss_after_bytes = settled_rss_bytes(target.process.pid, 2.0)
        result.connections_per_process = connections_per_process(target.process.pid, server_port(target))
        spread = sorted(result.connections_per_process.values())
        print(f"    {target.kind}: {result.subscribed}/{subscribers} subscribed in {result.connect_seconds:.1f} s "
              f"over {len(pool.processes)} generators; per server process {spread}", flush=True)  # fmt: skip

        phases: list[tuple[str, list[Write], _PhaseSample, _PhaseSample]] = []
        received = 0
        steady, before, after, received = _phase(
            "steady", target=target, pool=pool, subscribers=result.subscribed,
            writes_coroutine=_steady_writes(target, options.rate, options.duration, first_seq),
            received_before=received, stall_seconds=options.stall_seconds,
        )  # fmt: skip
        phases.append(("steady", steady, before, after))
        burst_count = max(MIN_BURST_WRITES, math.ceil(options.burst_deliveries / result.subscribed))
        burst, before, after, received = _phase(
            "burst", target=target, pool=pool, subscribers=result.subscribed,
            writes_coroutine=_burst_writes(target, burst_count, first_seq + len(steady)),
            received_before=received, stall_seconds=options.stall_seconds,
        )  # fmt: skip
        phases.append(("burst", burst, before, after))
        statuses, receipts = pool.stop()
    except BaseException:
        pool.kill()
        raise
    result.closed_by_server = sum(int(s["closed_by_server"]) for s in statuses)
    for status in statuses:
        for op, n in status["other_frames"].items():
            result.other_frames[op] = result.other_frames.get(op, 0) + int(n)
        result.errors.extend(status["errors"][: max(0, 5 - len(result.errors))])
    result.phases = [
        _summarise(name, writes, before, after, receipts, result.subscribed) for name, writes, before, after in phases
    ]
    return result


def run_live_fanout(targets: Sequence[Target], options: LiveOptions) -> list[LiveResult]:
    """Every subscriber count on every server, alternating which server goes first."""
    for target in targets:
        ensure_live_class(target)
    results: list[LiveResult] = []
    seq = 0
    for index, subscribers in enumerate(options.subscribers):
        order = list(targets) if index % 2 == 0 else list(targets)[::-1]
        by_server: dict[str, LiveResult] = {}
        for target in order:
            print(f"  live-fanout {subscribers} subscribers, {target.kind}", flush=True)
            try:
                result = run_one(target, subscribers, options, seq)
            except LiveRunError as exc:
                # Reported as an INVALID row; the other server is still measured.
                print(f"    {target.kind}: {exc}", flush=True)
                result = LiveResult(
                    server=target.kind, subscribers=subscribers, generators=options.generators, errors=[str(exc)]
                )
            seq += 1_000_000
            by_server[target.kind] = result
            for phase in result.phases:
                print(f"    {phase.name:<6} {phase.deliveries_per_second:>9.0f} deliveries/s  p50 "
                      f"{phase.latency_ms['p50']:.1f} ms  p99 {phase.latency_ms['p99']:.1f} ms  lost {phase.lost}  "
                      f"server CPU {phase.server_cpu_share:.0%}  generators "
                      f"{' '.join(f'{s:.0%}' for s in phase.generator_cpu_shares)}  "
                      f"writer {phase.writer_cpu_share:.0%}  others {phase.others_share:.0%}", flush=True)  # fmt: skip
        results.extend(by_server[target.kind] for target in targets)
    return results


# ----------------------------------------------------------------------------------------------
# the report


def _fmt(value: float, digits: int = 0) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:,.{digits}f}"


def _ratio(a: float, b: float) -> str:
    if not b or math.isnan(a) or math.isnan(b):
        return "-"
    return f"{a / b:.2f}"


def render_live(results: Sequence[LiveResult]) -> str:
    """The live-fanout table: one row per subscriber count, server and phase, then the Hangar/Parse ratios."""
    header = (
        f"{'live-fanout':<12}{'subs':>7} {'server':<7}{'phase':<7}{'writes':>7}{'write p50':>10}{'deliv/s':>10}"
        f"{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'p99 snd':>9}{'lost':>7}{'CPU %':>7}{'CPU us/dl':>10}{'KB/conn':>9}"
        f"{'gen CPU %':>11}{'others':>8}  flags"
    )
    lines = [header, "-" * len(header)]
    by_key = {(r.subscribers, r.server): r for r in results}
    for result in results:
        flags = []
        if not result.valid:
            flags.append("INVALID")
        if result.generator_bound:
            flags.append("GEN-BOUND")
        if not result.phases:
            lines.append(f"{'':<12}{result.subscribers:>7} {result.server:<7}{'-':<7}INVALID: {result.errors[0][:200]}")
        for phase in result.phases:
            noisy = phase.others_share > 0.10
            lines.append(
                f"{'':<12}{result.subscribers:>7} {result.server:<7}{phase.name:<7}{phase.writes:>7}"
                f"{_fmt(phase.write_p50_ms, 1):>10}{_fmt(phase.deliveries_per_second):>10}"
                f"{_fmt(phase.latency_ms['p50'], 1):>9}{_fmt(phase.latency_ms['p99'], 1):>9}"
                f"{_fmt(phase.latency_ms['max'], 0):>9}"
                f"{_fmt(phase.latency_from_send_ms['p99'], 1):>9}{phase.lost:>7}{_fmt(100 * phase.server_cpu_share):>7}"
                f"{_fmt(phase.server_cpu_us_per_delivery, 1):>10}{_fmt(result.memory_per_connection_kb, 1):>9}"
                f"{'/'.join(_fmt(100 * s) for s in phase.generator_cpu_shares):>11}{phase.others_share:>8.0%}  "
                f"{' '.join(flags + (['NOISY'] if noisy else []))}"
            )
        hangar, parse = by_key.get((result.subscribers, "hangar")), by_key.get((result.subscribers, "parse"))
        if result.server == "parse" and hangar is not None and parse is not None:
            for phase_name in ("steady", "burst"):
                h, p = hangar.phase(phase_name), parse.phase(phase_name)
                if h is None or p is None:
                    continue
                lines.append(
                    f"{'':<12}{result.subscribers:>7} {'h/p':<7}{phase_name:<7}{'':>7}"
                    f"{_ratio(h.write_p50_ms, p.write_p50_ms):>10}"
                    f"{_ratio(h.deliveries_per_second, p.deliveries_per_second):>10}"
                    f"{_ratio(h.latency_ms['p50'], p.latency_ms['p50']):>9}"
                    f"{_ratio(h.latency_ms['p99'], p.latency_ms['p99']):>9}{'':>9}"
                    f"{_ratio(h.latency_from_send_ms['p99'], p.latency_from_send_ms['p99']):>9}{'':>7}"
                    f"{_ratio(h.server_cpu_share, p.server_cpu_share):>7}"
                    f"{_ratio(h.server_cpu_us_per_delivery, p.server_cpu_us_per_delivery):>10}"
                    f"{_ratio(hangar.memory_per_connection_kb, parse.memory_per_connection_kb):>9}"
                )
    notes = []
    for result in results:
        spread = sorted(result.connections_per_process.values(), reverse=True)
        notes.append(
            f"{result.server} {result.subscribers}: {result.subscribed} subscribed in {result.connect_seconds:.1f} s "
            f"by {result.generators} generator processes, {result.failed} failed, {result.closed_by_server} closed "
            f"by the server; connections per server process {spread}; RSS {result.rss_before_bytes / 2**20:.0f} -> "
            f"{result.rss_after_bytes / 2**20:.0f} MiB"
            + (f"; other frames {result.other_frames}" if result.other_frames else "")
            + (f"; errors {result.errors[:2]}" if result.errors else "")
        )
    return "\n".join(lines) + "\n\n" + "\n".join(notes)


def write_live_json(context: dict[str, Any], options: LiveOptions, results: Sequence[LiveResult]) -> str:
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    path = WORK_DIR / f"live-results-{time.strftime('%Y%m%d-%H%M%S')}.json"
    document = {
        "context": context,
        "options": {
            "subscribers": list(options.subscribers), "rate": options.rate, "duration": options.duration,
            "burst_deliveries": options.burst_deliveries, "generators": options.generators,
            "handshakes_in_flight": options.handshakes_in_flight, "stall_seconds": options.stall_seconds,
            "class": LIVE_CLASS, "where": LIVE_WHERE, "python": sys.version.split()[0],
        },
        "results": [result.as_dict() for result in results],
    }  # fmt: skip
    path.write_text(json.dumps(document, indent=2) + "\n")
    return str(path)
