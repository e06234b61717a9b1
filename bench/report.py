"""The results: a table on stdout and the same numbers, with the run's configuration, in a JSON file."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.measure import Measurement
from bench.paths import WORK_DIR

_COLUMNS = (
    ("workload", "<", 17), ("server", "<", 12), ("req/s", ">", 9), ("p50 ms", ">", 8), ("p99 ms", ">", 8),
    ("CPU ms/req", ">", 10), ("pg+redis ms/req", ">", 15), ("non-2xx", ">", 7), ("sock err", ">", 8),
    ("others", ">", 6),
)  # fmt: skip


def _row(cells: Sequence[str]) -> str:
    return "  ".join(f"{cell:{align}{width}}" for cell, (_, align, width) in zip(cells, _COLUMNS, strict=True))


def _measurement_row(m: Measurement) -> str:
    load = m.load
    return _row([
        m.workload, m.server, f"{load.requests_per_second:.0f}", f"{load.p50_ms:.2f}", f"{load.p99_ms:.2f}",
        f"{m.cpu_ms_per_request:.3f}", f"{m.backing_cpu_ms_per_request:.3f}",
        str(load.non_2xx), str(sum(load.socket_errors.values())), f"{m.others_share:.0%}",
    ])  # fmt: skip


def _ratio(hangar: float, parse: float, *, resolution: float = 0.0) -> str:
    # Below the table's resolution a divisor is noise, and so is the ratio.
    return f"{hangar / parse:.2f}x" if parse > resolution else "-"


def _ratio_row(hangar: Measurement, parse: Measurement) -> str:
    return _row([
        hangar.workload, "hangar/parse",
        _ratio(hangar.load.requests_per_second, parse.load.requests_per_second),
        _ratio(hangar.load.p50_ms, parse.load.p50_ms), _ratio(hangar.load.p99_ms, parse.load.p99_ms),
        _ratio(hangar.cpu_ms_per_request, parse.cpu_ms_per_request),
        _ratio(hangar.backing_cpu_ms_per_request, parse.backing_cpu_ms_per_request, resolution=0.0005),
        "", "", "",
    ])  # fmt: skip


def render_table(measurements: Sequence[Measurement]) -> str:
    """One row per server and workload, then the Hangar/Parse ratio (req/s: higher is better; the rest: lower).

    "others" is the share of the machine that processes outside the benchmark used meanwhile.
    """
    lines = [_row([name for name, _, _ in _COLUMNS])]
    workloads = list(dict.fromkeys(m.workload for m in measurements))
    for workload in workloads:
        rows = {m.server: m for m in measurements if m.workload == workload}
        lines.extend(_measurement_row(m) for m in rows.values())
        if "hangar" in rows and "parse" in rows:
            lines.append(_ratio_row(rows["hangar"], rows["parse"]))
    lines.extend(_warnings(measurements))
    return "\n".join(lines)


def _warnings(measurements: Sequence[Measurement]) -> list[str]:
    lines = []
    for m in measurements:
        if not m.valid:
            lines.append(f"INVALID {m.workload} on {m.server}: {m.load.non_2xx} non-2xx, socket errors "
                         f"{m.load.socket_errors}; first bad answer: {m.load.first_bad or '-'}")  # fmt: skip
        if m.noisy:
            lines.append(f"NOISY {m.workload} on {m.server}: other processes used {m.others_share:.0%} of the "
                         "machine during the run; its req/s and latency are not comparable")  # fmt: skip
    return lines


# How each server stores the passwords the users workloads verify (shown with their results).
PASSWORD_HASHES = {
    "hangar": "argon2id (OWASP's baseline: time cost 2, memory 19 MiB, parallelism 1; "
    "platform/hangar/identity/passwords.py)",
    "parse": "bcrypt, cost 10 (Parse Server's default; @node-rs/bcrypt, native, off the event loop)",
}
USERS_WORKLOADS = ("login", "users-me")


def render_workload_notes(workloads: Sequence[Any], measurements: Sequence[Measurement], connections: int) -> str:
    """Footer lines of the users and files workloads: password hashes, MB/s, connection counts."""
    lines = []
    names = [workload.name for workload in workloads]
    if any(name in USERS_WORKLOADS for name in names):
        lines.append("Password hashes verified by login (one per request): "
                     + "; ".join(f"{server} {scheme}" for server, scheme in PASSWORD_HASHES.items()))  # fmt: skip
    for workload in workloads:
        if not workload.payload_bytes:
            continue
        rows = {m.server: m for m in measurements if m.workload == workload.name}
        rates = {server: m.load.requests_per_second * workload.payload_bytes / 1e6 for server, m in rows.items()}
        parts = [f"{server} {rate:.1f} MB/s" for server, rate in rates.items()]
        if rates.get("hangar") and rates.get("parse"):
            parts.append(f"hangar/parse {rates['hangar'] / rates['parse']:.2f}x")
        lines.append(f"{workload.name}: {', '.join(parts)} (MB/s = req/s x {workload.payload_bytes:,} bytes; "
                     f"{workload.connections(connections)} connections on both)")  # fmt: skip
    return "\n".join(lines)


def render_index_usage(indexes: dict[str, dict[str, dict[str, Any]]]) -> str:
    """How often each index declared through /schemas was scanned on each server (pg_stat_user_indexes)."""
    parts = [f"{kind} {name} {usage['scans']}" for kind, by_name in indexes.items() for name, usage in by_name.items()]
    return "Index scans of the /schemas indexes during the run (seed, check, warm-up, load): " + ", ".join(parts)


def percentiles(durations: Sequence[float]) -> dict[str, float]:
    """p50, p99 and max of a sample (linear interpolation between ranks, like wrk's and numpy's default)."""
    if len(durations) < 2:
        only = durations[0] if durations else 0.0
        return {"p50": only, "p99": only, "max": only}
    cuts = statistics.quantiles(durations, n=100, method="inclusive")
    return {"p50": cuts[49], "p99": cuts[98], "max": max(durations)}


def render_provisioning(durations: Sequence[float]) -> str:
    stats = percentiles(durations)
    return (
        f"Hangar app provisioning (operator_app_create, {len(durations)} apps, one at a time): "
        f"p50 {stats['p50']:.1f} ms, p99 {stats['p99']:.1f} ms, max {stats['max']:.1f} ms"
    )


def write_json(*, context: dict[str, Any], measurements: Sequence[Measurement], provisioning: Sequence[float]) -> Path:
    """Write bench/.work/results-<timestamp>.json and return its path."""
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    path = WORK_DIR / f"results-{time.strftime('%Y%m%d-%H%M%S')}.json"
    document = {
        "context": context,
        "measurements": [m.as_dict() for m in measurements],
        "provisioning_ms": {"samples": list(provisioning), **percentiles(provisioning)} if provisioning else None,
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path
