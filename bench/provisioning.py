"""Hangar's app provisioning time: ``operator_app_create`` (what ``manage.py app_create`` calls), one call at a time.

``measure_provisioning`` runs in the harness and starts this module as a Django-configured
process against the bench database; that process's ``main`` makes the calls and prints
their durations as JSON. Parse Server has no equivalent (one app per server process).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence

from bench.paths import PYTHON, REPO_DIR

_RESULT_PREFIX = "PROVISIONING "


def measure_provisioning(*, env: Mapping[str, str], count: int, organization: str, owner: str) -> list[float]:
    """Create ``count`` apps in ``owner``'s ``organization`` and return each call's duration in milliseconds."""
    completed = subprocess.run(
        [PYTHON, "-m", "bench.provisioning", "--count", str(count), "--organization", organization, "--owner", owner],
        env=dict(env), cwd=REPO_DIR, capture_output=True, text=True, timeout=60 + count * 10,
    )  # fmt: skip
    if completed.returncode != 0:
        raise RuntimeError(f"provisioning run failed:\n{completed.stdout}{completed.stderr}"[-4000:])
    for line in completed.stdout.splitlines():
        if line.startswith(_RESULT_PREFIX):
            durations: list[float] = json.loads(line[len(_RESULT_PREFIX) :])
            return durations
    raise RuntimeError(f"provisioning run printed no result:\n{completed.stdout}")


def _time_app_creations(count: int, organization: str, owner: str) -> list[float]:
    import django

    django.setup()
    from django.db import connection

    from tenants.services import operator_app_create

    # A server process has its connection open already; opening it is not provisioning.
    connection.ensure_connection()
    durations = []
    for number in range(count):
        started = time.perf_counter()
        operator_app_create(organization_name=organization, app_name=f"provisioned-{number}", owner_email=owner)
        durations.append((time.perf_counter() - started) * 1000)
    return durations


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.provisioning")
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--organization", required=True)
    parser.add_argument("--owner", required=True)
    args = parser.parse_args(argv)
    durations = _time_app_creations(args.count, args.organization, args.owner)
    print(_RESULT_PREFIX + json.dumps(durations), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
