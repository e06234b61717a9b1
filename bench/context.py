"""What a run ran on: the machine, the versions and each server's configuration, kept beside the numbers."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bench.databases import postgres_version
from bench.load import LoadOptions
from bench.paths import PARSE_INSTALL_DIR, REPO_DIR
from bench.servers import Target


def _first_output_line(command: list[str]) -> str:
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=10)
    except OSError:
        return "unknown"
    lines = (completed.stdout or completed.stderr).strip().splitlines()
    return lines[0] if lines else "unknown"


def _wrk_version(wrk: str) -> str:
    # "wrk debian/4.1.0-3+b2 [epoll] Copyright (C) 2012 Will Glozer" -> "wrk debian/4.1.0-3+b2 [epoll]"
    return _first_output_line([wrk, "--version"]).split(" Copyright")[0]


def hangar_revision(root: Path = REPO_DIR) -> str:
    """The commit of the checkout measured, marked dirty when its work tree differs from it (read-only git calls)."""
    commit = _first_output_line(["git", "-C", str(root), "rev-parse", "--short", "HEAD"])
    changes = subprocess.run(
        ["git", "-C", str(root), "status", "--porcelain", "--", "platform", "tenants"],
        capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    return f"{commit}-dirty" if changes else commit


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def parse_server_version() -> str | None:
    package = PARSE_INSTALL_DIR / "node_modules" / "parse-server" / "package.json"
    return str(json.loads(package.read_text())["version"]) if package.exists() else None


def run_context(
    *, wrk: str, options: LoadOptions, warmup_seconds: int, postgres_url: str, targets: list[Target]
) -> dict[str, Any]:
    return {
        "machine": {"cores": os.cpu_count(), "cpu": _cpu_model(), "kernel": platform.release()},
        "load": {
            "tool": _wrk_version(wrk), "connections": options.connections,
            "threads": options.threads, "duration_seconds": options.seconds, "warmup_seconds": warmup_seconds,
        },
        "versions": {
            "hangar": hangar_revision(),
            "python": platform.python_version(), "django": version("django"), "uvicorn": version("uvicorn"),
            "node": _first_output_line(["node", "--version"]), "parse_server": parse_server_version(),
            "postgres": postgres_version(postgres_url),
        },
        "servers": {target.kind: target.details for target in targets},
    }  # fmt: skip


def render_header(context: dict[str, Any]) -> str:
    load, versions, machine = context["load"], context["versions"], context["machine"]
    peer = f"Parse Server {versions['parse_server']}" if "parse" in context["servers"] else "(Parse skipped)"
    header = (
        f"Hangar {versions['hangar']} vs {peer}, PostgreSQL {versions['postgres']}, "
        f"{machine['cores']} cores ({machine['cpu']})\n"
        f"{load['tool']}: {load['connections']} connections, {load['threads']} threads, "
        f"{load['duration_seconds']} s measured after {load['warmup_seconds']} s warm-up, per workload and server"
    )
    dataset = context.get("dataset")
    if dataset:
        header += f"\ndata: {dataset['items']} BenchItems, {dataset['comments']} BenchComments per server"
    return header


def live_context(*, hangar_root: Path, targets: list[Target]) -> dict[str, Any]:
    """What a live-fanout run ran on: the machine, the versions (the Hangar checkout served) and each server."""
    return {
        "machine": {"cores": os.cpu_count(), "cpu": _cpu_model(), "kernel": platform.release()},
        "versions": {
            "hangar": hangar_revision(hangar_root), "hangar_root": str(hangar_root),
            "python": platform.python_version(), "uvicorn": version("uvicorn"), "websockets": version("websockets"),
            "node": _first_output_line(["node", "--version"]), "parse_server": parse_server_version(),
        },
        "servers": {target.kind: target.details for target in targets},
    }  # fmt: skip


def render_live_header(context: dict[str, Any], options_line: str) -> str:
    versions, machine = context["versions"], context["machine"]
    servers = []
    if "hangar" in context["servers"]:
        servers.append(f"Hangar {versions['hangar']} ({versions['hangar_root']})")
    if "parse" in context["servers"]:
        servers.append(f"Parse Server {versions['parse_server']} (LiveQuery, Redis pub/sub)")
    return f"{' vs '.join(servers)}, {machine['cores']} cores ({machine['cpu']})\n{options_line}"
