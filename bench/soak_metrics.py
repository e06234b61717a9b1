"""The soak's figures: per-minute requests, errors and latency percentiles, and the RSS trend of each process.

Pure functions of what the load loops and the RSS sampler recorded, so that they are
checked without starting a server (tests/bench/test_soak.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench.report import percentiles


@dataclass(frozen=True)
class Answer:
    """One request of the soak: when it started (seconds since the measured start), what, how it ended."""

    at: float
    operation: str
    status: int | None  # None: no answer (connection refused, reset, timed out)
    milliseconds: float

    @property
    def error(self) -> bool:
        return self.status is None or not 200 <= self.status < 300


@dataclass(frozen=True)
class RssSample:
    at: float  # seconds since the measured start
    pid: int
    label: str  # what the process is: web-1, celery-worker, beat, ...
    rss_bytes: int


def minutes(answers: Sequence[Answer], duration_seconds: float) -> list[dict[str, Any]]:
    """One row per started minute of the measured period: requests, errors, p50/p99 ms, and the same per operation."""
    rows = []
    for minute in range(max(1, int(-(-duration_seconds // 60)))):
        inside = [a for a in answers if minute * 60 <= a.at < (minute + 1) * 60]
        by_operation: dict[str, list[Answer]] = defaultdict(list)
        for answer in inside:
            by_operation[answer.operation].append(answer)
        rows.append({
            "minute": minute + 1, **_figures(inside),
            "operations": {name: _figures(group) for name, group in sorted(by_operation.items())},
        })  # fmt: skip
    return rows


def _figures(answers: Sequence[Answer]) -> dict[str, Any]:
    latency = percentiles([a.milliseconds for a in answers]) if answers else {"p50": 0.0, "p99": 0.0, "max": 0.0}
    return {
        "requests": len(answers), "errors": sum(1 for a in answers if a.error),
        "p50_ms": round(latency["p50"], 2), "p99_ms": round(latency["p99"], 2), "max_ms": round(latency["max"], 2),
    }  # fmt: skip


def slope_per_minute(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value) points, per minute; 0 for fewer than two distinct times."""
    if len(points) < 2:
        return 0.0
    mean_t = sum(t for t, _ in points) / len(points)
    mean_v = sum(v for _, v in points) / len(points)
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    if spread == 0:
        return 0.0
    return sum((t - mean_t) * (v - mean_v) for t, v in points) / spread * 60


def rss_trends(samples: Sequence[RssSample]) -> list[dict[str, Any]]:
    """Per process (by pid): first, last and peak RSS in MB and the least-squares slope in MB/min."""
    by_pid: dict[int, list[RssSample]] = defaultdict(list)
    for sample in samples:
        by_pid[sample.pid].append(sample)
    trends = []
    for pid, series in by_pid.items():
        series.sort(key=lambda s: s.at)
        megabytes = [(s.at, s.rss_bytes / 1e6) for s in series]
        trends.append({
            "label": series[0].label, "pid": pid, "samples": len(series),
            "first_mb": round(megabytes[0][1], 1), "last_mb": round(megabytes[-1][1], 1),
            "peak_mb": round(max(v for _, v in megabytes), 1),
            "slope_mb_per_min": round(slope_per_minute(megabytes), 3),
            "seen_from_s": round(series[0].at, 1), "seen_until_s": round(series[-1].at, 1),
        })  # fmt: skip
    return sorted(trends, key=lambda t: (t["label"], t["pid"]))


def render_minutes(rows: Sequence[dict[str, Any]]) -> str:
    lines = [
        f"{'minute':>6}  {'requests':>8}  {'errors':>6}  {'p50 ms':>7}  {'p99 ms':>7}  {'max ms':>7}  per operation p99"
    ]
    for row in rows:
        per_operation = ", ".join(f"{name} {figures['p99_ms']:.1f}" for name, figures in row["operations"].items())
        lines.append(f"{row['minute']:>6}  {row['requests']:>8}  {row['errors']:>6}  {row['p50_ms']:>7.2f}  "
                     f"{row['p99_ms']:>7.2f}  {row['max_ms']:>7.1f}  {per_operation}")  # fmt: skip
    return "\n".join(lines)


def render_rss(trends: Sequence[dict[str, Any]]) -> str:
    lines = [f"{'process':<20}  {'pid':>7}  {'first MB':>8}  {'last MB':>8}  {'peak MB':>8}  {'MB/min':>7}  samples"]
    for trend in trends:
        lines.append(f"{trend['label']:<20}  {trend['pid']:>7}  {trend['first_mb']:>8.1f}  {trend['last_mb']:>8.1f}  "
                     f"{trend['peak_mb']:>8.1f}  {trend['slope_mb_per_min']:>7.3f}  {trend['samples']}")  # fmt: skip
    return "\n".join(lines)
