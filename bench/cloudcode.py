"""The cloud-code workloads' setup: the bench bundles on both servers, a functional check, and the cold start.

Hangar gets bench/cloud/hangar/ through ``manage.py cloud_deploy`` (validated in the
sandbox, stored, activated); Parse Server loads bench/cloud/parse/main.js in every
worker through its ``cloud`` option. Both define the same ``hello`` function and the
same ``Guarded`` beforeSave. Before any load, ``check_cloud`` proves on both servers
that the handlers really run: the function answers, a create gets ``checked`` set by the
trigger, and a create the trigger rejects answers 142.

The cold start (Hangar only: Parse Server loads its cloud code once, at start) deploys
a new version per round, each with its own greeting, and times the first call of
``hello`` after the deploy returned: the app reload, the worker's sandbox start, the
bundle's import and the invocation, end to end through HTTP.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.measure import Measurement
from bench.paths import BENCH_DIR, REPO_DIR
from bench.report import percentiles
from bench.servers import Target, _manage
from bench.workloads import GUARDED_BODY, GUARDED_CLASS, HELLO_PARAMS

HANGAR_BUNDLE = BENCH_DIR / "cloud" / "hangar"
PARSE_CLOUD_MAIN = BENCH_DIR / "cloud" / "parse" / "main.js"
# Declared up front on both servers: the REST key may not create classes on Parse
# (allowClientClassCreation is off), and ``checked`` (set by the trigger) is then no schema change.
GUARDED_SCHEMA: dict[str, Any] = {
    "className": GUARDED_CLASS,
    "fields": {"score": {"type": "Number"}, "name": {"type": "String"}, "checked": {"type": "Boolean"}},
}
HELLO_ANSWER = {"result": f"Hello {HELLO_PARAMS['name']}"}
REJECTED_BODY = {"score": -1, "name": "rejected"}
VALIDATION_ERROR = 142  # Parse's code for a beforeSave that refuses the object

# The line of bench/cloud/hangar/main.py each cold-start round rewrites.
GREETING_LINE = 'GREETING = "Hello"'
COLD_START_TARGET_MS = 300.0  # issue 13's target for the first call of a new version
DEFAULT_COLD_START_ROUNDS = 10
# A call that reaches a process before it saw the activation is answered by the old
# version (not a cold start): the harness tries again this often, this far apart.
STALE_RETRIES = 20
STALE_PAUSE_SECONDS = 0.05
# Issue 13's targets for the warm workloads: Hangar's req/s at least Parse's, p99 no worse.
WARM_TARGETS = ("cloud-hello", "cloud-before-save")


class CloudSetupError(RuntimeError):
    """A bundle did not deploy, or a server's cloud code did not behave as the workloads need."""


def parse_cloud_flags() -> list[str]:
    """Parse Server's ``cloud`` option: the bench's cloud code, required by every worker at start."""
    return ["--cloud", str(PARSE_CLOUD_MAIN)]


def deploy_hangar_bundle(
    env: Mapping[str, str], application_id: str, bundle: Path = HANGAR_BUNDLE, *, root: Path = REPO_DIR
) -> dict[str, Any]:
    """``manage.py cloud_deploy --app <id> <bundle> --json``: validate, store and activate; its answer."""
    try:
        answer = json.loads(_manage(env, "cloud_deploy", "--app", application_id, str(bundle), "--json", root=root))
    except Exception as exc:
        raise CloudSetupError(f"cloud_deploy of {bundle} failed: {exc}") from exc
    if not isinstance(answer, dict) or "version" not in answer:
        raise CloudSetupError(f"cloud_deploy of {bundle} answered {answer!r}")
    return answer


def _post(target: Target, path: str, body: Any, *, keys: str = "rest") -> httpx.Response:
    return httpx.post(f"{target.base_url}{path}", json=body, headers=target.key_headers(keys), timeout=30)


def cloud_problems(target: Target) -> list[str]:
    """What is wrong with ``target``'s cloud code as the workloads use it (empty: nothing)."""
    found = []
    hello = _post(target, "/functions/hello", HELLO_PARAMS)
    if hello.status_code != 200 or hello.json() != HELLO_ANSWER:
        found.append(f"hello answered {hello.status_code} {hello.text[:300]}")
    created = _post(target, f"/classes/{GUARDED_CLASS}", GUARDED_BODY)
    if created.status_code != 201:
        found.append(f"a Guarded create answered {created.status_code} {created.text[:300]}")
    else:
        object_id = created.json().get("objectId")
        stored = httpx.get(
            f"{target.base_url}/classes/{GUARDED_CLASS}/{object_id}", headers=target.key_headers("rest"), timeout=30
        ).json()
        if stored.get("checked") is not True:
            found.append(f"the beforeSave did not set checked: the stored object is {stored}")
    rejected = _post(target, f"/classes/{GUARDED_CLASS}", REJECTED_BODY)
    if rejected.status_code < 400 or rejected.json().get("code") != VALIDATION_ERROR:
        found.append(f"a create the beforeSave rejects answered {rejected.status_code} {rejected.text[:300]}")
    return [f"{target.kind}: {problem}" for problem in found]


def prepare_cloud(targets: Sequence[Target]) -> None:
    """Declare the Guarded class on every server, then check that each runs the bench's cloud code."""
    problems: list[str] = []
    for target in targets:
        target.call("POST", f"/schemas/{GUARDED_CLASS}", GUARDED_SCHEMA)
        found = cloud_problems(target)
        print(f"  check cloud code    {target.kind}: {'FAILED' if found else 'ok'}", flush=True)
        problems.extend(found)
    if problems:
        raise CloudSetupError("the bench's cloud code does not behave alike:\n" + "\n".join(problems))


def cold_start_bundle(tag: str, into: Path, source: Path = HANGAR_BUNDLE) -> Path:
    """A copy of the bench bundle whose ``hello`` greets with ``Hello <tag>:``: a new version, recognisable."""
    main = (source / "main.py").read_text()
    if main.count(GREETING_LINE) != 1:
        raise CloudSetupError(f"{source / 'main.py'} must hold the line {GREETING_LINE!r} once")
    bundle = into / tag
    shutil.copytree(source, bundle, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (bundle / "main.py").write_text(main.replace(GREETING_LINE, f'GREETING = "Hello {tag}:"'))
    return bundle


def greeting_for(tag: str) -> dict[str, str]:
    """What ``hello`` answers from the cold-start version ``tag``."""
    return {"result": f"Hello {tag}: {HELLO_PARAMS['name']}"}


@dataclass
class ColdStart:
    """The cold-start rounds: first-call latencies (ms), deploy durations (s), calls the old version answered."""

    first_call_ms: list[float] = field(default_factory=list)
    deploy_seconds: list[float] = field(default_factory=list)
    stale_calls: int = 0

    @property
    def stats(self) -> dict[str, float]:
        return percentiles(self.first_call_ms)

    @property
    def met(self) -> bool:
        return bool(self.first_call_ms) and self.stats["max"] < COLD_START_TARGET_MS

    def as_dict(self) -> dict[str, Any]:
        return {
            "first_call_ms": self.first_call_ms, "deploy_seconds": self.deploy_seconds,
            "stale_calls": self.stale_calls, **self.stats, "target_ms": COLD_START_TARGET_MS,
        }  # fmt: skip


def first_call(target: Target, expected: Mapping[str, Any]) -> tuple[float, int]:
    """Time the first call that the new version answers; (ms, calls the old version answered before it)."""
    stale = 0
    # No keep-alive: a new connection per call, which any of the server's worker processes
    # may accept. The client is made before the clock starts (it builds an SSL context).
    with httpx.Client(limits=httpx.Limits(max_keepalive_connections=0), timeout=30) as client:
        for _ in range(STALE_RETRIES + 1):
            started = time.perf_counter()
            response = client.post(
                f"{target.base_url}/functions/hello", json=HELLO_PARAMS, headers=target.key_headers("rest")
            )
            elapsed_ms = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise CloudSetupError(f"the first call answered {response.status_code} {response.text[:300]}")
            if response.json() == expected:
                return elapsed_ms, stale
            stale += 1
            time.sleep(STALE_PAUSE_SECONDS)
    raise CloudSetupError(f"the new version never answered after {STALE_RETRIES} tries")


def measure_cold_start(target: Target, env: Mapping[str, str], rounds: int, *, root: Path = REPO_DIR) -> ColdStart:
    """Deploy ``rounds`` new versions one after another and time each one's first call."""
    result = ColdStart()
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as scratch:
        for number in range(1, rounds + 1):
            tag = f"round-{number}-{time.time_ns()}"
            bundle = cold_start_bundle(tag, Path(scratch))
            started = time.monotonic()
            deploy_hangar_bundle(env, target.application_id, bundle, root=root)
            result.deploy_seconds.append(time.monotonic() - started)
            elapsed_ms, stale = first_call(target, greeting_for(tag))
            result.first_call_ms.append(elapsed_ms)
            result.stale_calls += stale
            print(f"  cold start {number:>2}/{rounds}: first call {elapsed_ms:.1f} ms", flush=True)
    return result


def render_cold_start(result: ColdStart) -> str:
    stats = result.stats
    verdict = "met" if result.met else "NOT met"
    stale = f" ({result.stale_calls} calls answered by the old version, retried)" if result.stale_calls else ""
    return (
        f"cloud-cold-start (Hangar only; Parse Server loads its cloud code once, at start): first call of a freshly "
        f"deployed version, {len(result.first_call_ms)} rounds: p50 {stats['p50']:.1f} ms, max {stats['max']:.1f} ms; "
        f"target < {COLD_START_TARGET_MS:.0f} ms: {verdict}{stale}"
    )


def render_warm_targets(measurements: Sequence[Measurement]) -> str:
    """One line per warm cloud workload measured on both servers: the ratios against issue 13's targets."""
    lines = []
    for name in WARM_TARGETS:
        rows = {m.server: m for m in measurements if m.workload == name}
        hangar, parse = rows.get("hangar"), rows.get("parse")
        if hangar is None or parse is None or not parse.load.requests_per_second or not parse.load.p99_ms:
            continue
        rate = hangar.load.requests_per_second / parse.load.requests_per_second
        p99 = hangar.load.p99_ms / parse.load.p99_ms
        verdict = "met" if rate >= 1.0 and p99 <= 1.0 else "NOT met"
        lines.append(f"{name}: hangar/parse req/s {rate:.2f}x (target >= 1.00x), p99 {p99:.2f}x "
                     f"(target <= 1.00x): {verdict}")  # fmt: skip
    return "\n".join(lines)
