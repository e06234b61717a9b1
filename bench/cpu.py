"""CPU time spent during a measured run, read from /proc through psutil.

CPU milliseconds per request is the steadier figure on this machine (DESIGN.md section
10), so the harness samples, around every measured run, the server's processes, the
backing services (PostgreSQL, Redis), the load generator and the whole machine. What
the machine spent beyond those four went to somebody else's processes, which makes
that run's throughput and latency suspect.
"""

from __future__ import annotations

import resource
from collections.abc import Iterable
from dataclasses import dataclass

import psutil

# Processes named so are PostgreSQL's (postmaster and backends) and Redis's.
BACKING_SERVICE_NAMES = frozenset({"postgres", "redis-server"})


def _cpu_seconds(processes: Iterable[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue  # exited between listing and reading; its time is in its parent's children_* fields
        # children_* hold the time of children that exited and were reaped, so a
        # worker that died mid-run is still counted; live children are listed themselves.
        total += times.user + times.system + times.children_user + times.children_system
    return total


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) of a process and all of its descendants, live or reaped."""
    try:
        root = psutil.Process(pid)
        return _cpu_seconds([root, *root.children(recursive=True)])
    except psutil.NoSuchProcess:
        return 0.0


def backing_services_cpu_seconds() -> float:
    """CPU seconds of PostgreSQL and Redis on this machine (shared by both servers and by anyone else)."""
    processes = [p for p in psutil.process_iter(["name"]) if p.info["name"] in BACKING_SERVICE_NAMES]
    return _cpu_seconds(processes)


def reaped_children_cpu_seconds() -> float:
    """CPU seconds of this process's children that have exited: around one wrk run, that wrk."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def machine_busy_cpu_seconds() -> float:
    """CPU seconds all cores spent on anything but idling (steal and I/O wait excluded)."""
    times = psutil.cpu_times()
    return times.user + times.nice + times.system + times.irq + times.softirq


@dataclass(frozen=True)
class CpuSample:
    """Cumulative CPU seconds at one instant; the difference of two is what a run cost."""

    server: float
    backing: float
    load_generator: float
    machine: float

    @classmethod
    def take(cls, server_pid: int) -> CpuSample:
        return cls(
            server=tree_cpu_seconds(server_pid), backing=backing_services_cpu_seconds(),
            load_generator=reaped_children_cpu_seconds(), machine=machine_busy_cpu_seconds(),
        )  # fmt: skip

    def __sub__(self, earlier: CpuSample) -> CpuSample:
        return CpuSample(
            server=self.server - earlier.server, backing=self.backing - earlier.backing,
            load_generator=self.load_generator - earlier.load_generator, machine=self.machine - earlier.machine,
        )  # fmt: skip

    @property
    def others(self) -> float:
        """CPU seconds that went to processes outside the benchmark (never negative: sampling is not atomic)."""
        return max(0.0, self.machine - self.server - self.backing - self.load_generator)
