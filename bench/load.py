"""The load generator: wrk, driven by bench/wrk/request.lua, against loopback only."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.paths import REQUEST_DIR, WRK_SCRIPT
from bench.workloads import HttpRequest

_RESULT_PREFIX = "BENCH_RESULT "
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


class LoadError(RuntimeError):
    """wrk failed or printed no result."""


@dataclass(frozen=True)
class LoadOptions:
    connections: int
    threads: int
    seconds: int
    timeout_seconds: int = 15  # a request slower than this counts as a timeout error (10 MB files take seconds)


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    non_2xx: int
    socket_errors: dict[str, int]  # connect, read, write, timeout
    first_bad: str  # status and start of the body of the first non-2xx answer

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def errors(self) -> int:
        return self.non_2xx + sum(self.socket_errors.values())


def variants_path(request_file: Path) -> Path:
    """Where the varying requests of ``request_file`` are (the file exists only when they vary)."""
    return request_file.with_suffix(".variants")


def write_request_file(request: HttpRequest, name: str, directory: Path = REQUEST_DIR) -> Path:
    """Write the request in the format request.lua reads: method, header lines, empty line, body.

    A request that varies also gets a ``.variants`` file beside it: one request per line,
    the path (from the root, with its query string), a tab, and the body (empty for none),
    then, when that variant has headers of its own, a tab and ``Name: value`` per header.
    """
    directory.mkdir(parents=True, exist_ok=True)
    lines = [request.method, *(f"{key}: {value}" for key, value in request.headers.items())]
    path = directory / f"{name}.http"
    path.write_text("\n".join(lines) + "\n\n" + request.body)
    variants = variants_path(path)
    variants.unlink(missing_ok=True)
    if request.variants:
        extra = request.variant_headers or tuple({} for _ in request.variants)
        rows = []
        for (target, body), headers in zip(request.variants, extra, strict=True):
            fields = [target, body, *(f"{name}: {value}" for name, value in headers.items())]
            if any(c in "".join(fields) for c in "\t\n\r") or not target.startswith("/"):
                raise ValueError(f"request {target!r} cannot be written to a variants file")
            rows.append("\t".join(fields) + "\n")
        variants.write_text("".join(rows))
    return path


def _parse_output(stdout: str) -> dict[str, Any]:
    for line in stdout.splitlines():
        if line.startswith(_RESULT_PREFIX):
            parsed: dict[str, Any] = json.loads(line[len(_RESULT_PREFIX) :])
            return parsed
    raise LoadError(f"wrk printed no result:\n{stdout[-2000:]}")


def run_wrk(wrk: str, request: HttpRequest, request_file: Path, options: LoadOptions) -> WrkResult:
    """Replay ``request`` for ``options.seconds`` with ``options.connections`` connections."""
    if urlsplit(request.url).hostname not in _LOOPBACK_HOSTS:
        raise LoadError(f"refusing to load {request.url}: the benchmark only targets loopback")
    command = [
        wrk, "--threads", str(options.threads), "--connections", str(options.connections),
        "--duration", f"{options.seconds}s", "--timeout", f"{options.timeout_seconds}s",
        "--script", str(WRK_SCRIPT), request.url,
    ]  # fmt: skip
    env = {
        **os.environ, "BENCH_REQUEST": str(request_file),
        "BENCH_VARIANTS": str(variants_path(request_file)) if request.variants else "",
    }  # fmt: skip
    completed = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=options.seconds + options.timeout_seconds + 30
    )
    if completed.returncode != 0:
        raise LoadError(f"wrk exited with {completed.returncode}:\n{completed.stdout}{completed.stderr}")
    raw = _parse_output(completed.stdout)
    errors = raw["errors"]
    latency = raw["latency_us"]
    return WrkResult(
        requests=raw["requests"], seconds=raw["duration_us"] / 1e6,
        p50_ms=latency["p50"] / 1000, p90_ms=latency["p90"] / 1000, p99_ms=latency["p99"] / 1000,
        max_ms=latency["max"] / 1000, non_2xx=raw["non_2xx"],
        socket_errors={kind: errors[kind] for kind in ("connect", "read", "write", "timeout")},
        first_bad=raw["first_bad"],
    )  # fmt: skip
