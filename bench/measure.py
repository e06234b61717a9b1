"""One measured run: warm up, then load a server while sampling where the machine's CPU time went."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any

from bench.cpu import CpuSample
from bench.load import LoadOptions, WrkResult, run_wrk, write_request_file
from bench.servers import Target
from bench.workloads import HttpRequest, Workload

# Above this share of the machine used by other processes, a run's req/s and latency
# say more about the neighbours than about the server.
NOISY_OTHERS_SHARE = 0.10


class ServerDiedError(RuntimeError):
    """A server (or one of its workers) exited while it was being measured."""


@dataclass(frozen=True)
class Measurement:
    workload: str
    server: str
    load: WrkResult
    cpu: CpuSample  # CPU seconds spent during the measured run

    def _per_request_ms(self, seconds: float) -> float:
        return seconds * 1000 / self.load.requests if self.load.requests else 0.0

    @property
    def cpu_ms_per_request(self) -> float:
        """The server's processes (workers included)."""
        return self._per_request_ms(self.cpu.server)

    @property
    def backing_cpu_ms_per_request(self) -> float:
        """PostgreSQL + Redis, machine-wide."""
        return self._per_request_ms(self.cpu.backing)

    @property
    def others_share(self) -> float:
        """Share of the machine's capacity that other processes used during the run."""
        capacity = self.load.seconds * (os.cpu_count() or 1)
        return self.cpu.others / capacity if capacity else 0.0

    @property
    def valid(self) -> bool:
        return self.load.requests > 0 and self.load.errors == 0

    @property
    def noisy(self) -> bool:
        return self.others_share > NOISY_OTHERS_SHARE

    def as_dict(self) -> dict[str, Any]:
        return {
            "workload": self.workload, "server": self.server, **asdict(self.load),
            "requests_per_second": self.load.requests_per_second, "cpu_seconds": asdict(self.cpu),
            "cpu_ms_per_request": self.cpu_ms_per_request,
            "backing_cpu_ms_per_request": self.backing_cpu_ms_per_request, "others_share": self.others_share,
            "valid": self.valid, "noisy": self.noisy,
        }  # fmt: skip


def measure(
    *, wrk: str, target: Target, workload: Workload, request: HttpRequest, options: LoadOptions, warmup_seconds: int
) -> Measurement:
    """Warm up (discarded: pools, caches and JITs fill), then measure one timed run of ``request``."""
    request_file = write_request_file(request, f"{workload.name}-{target.kind}")
    if warmup_seconds > 0:
        run_wrk(wrk, request, request_file, LoadOptions(**{**asdict(options), "seconds": warmup_seconds}))
    members = target.process.member_pids()
    before = CpuSample.take(target.process.pid)
    result = run_wrk(wrk, request, request_file, options)
    spent = CpuSample.take(target.process.pid) - before
    if not target.process.alive() or target.process.member_pids() != members:
        raise ServerDiedError(f"{target.kind} lost a process during {workload.name}:\n{target.process.log_tail()}")
    return Measurement(workload=workload.name, server=target.kind, load=result, cpu=spent)
