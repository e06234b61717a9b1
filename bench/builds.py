"""Native builds: time from request to signed APK, and throughput with two workers under a shared queue.

    .venv/bin/python bench/builds.py [--idle 20] [--queue 50] [--tenants 5] [--workers 2] [--database NAME]
        [--artifact-format apk|aab]

Runs on a database of its own (``--database``, default ``hangar_bench_builds``, recreated) and the
Redis database of ``--redis-url``, with the real toolchain (``make toolchains``) and the built-in agent's
own code: ``builds.run_next``, the Celery task a worker runs, called in this process.

1. **Idle queue**: ``--idle`` builds one after the other. Each is timed from the request
   (``build_request``, what the API and ``manage.py build_request`` call) to a verified,
   signed APK stored in file storage: Celery runs eagerly here, so the broker hop of a
   deployment (a few ms) is not in the figure. Each build's CPU time (this process and the
   tools it ran: the JVMs of smali, aapt2, zipalign, apksigner) is printed too: on a busy
   machine it is the steadier figure.
2. **Shared queue**: ``--tenants`` organizations queue ``--queue`` builds between them,
   the first organization half of them (queued first), the rest evenly; ``--workers``
   threads, each a worker's loop of ``run_next``, drain the queue. It prints builds per
   minute, each organization's mean wait, and the order in which organizations were served
   (fair share: every organization is served before the first one gets its second slot).

Results go to stdout and to ``bench/.work/builds-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "platform"), str(Path(__file__).resolve().parents[1])]

from bench.databases import database_recreate, redis_flush  # noqa: E402
from bench.paths import WORK_DIR  # noqa: E402
from bench.report import percentiles  # noqa: E402

DATABASE = "hangar_bench_builds"
STORE_PASSWORD = "bench-store-pass"  # noqa: S105 (a throwaway keystore made for the run)


def _setup_django(database_url: str, redis_url: str, var_dir: Path) -> None:
    os.environ.update({
        "DATABASE_URL": database_url, "REDIS_URL": redis_url, "HANGAR_VAR_DIR": str(var_dir),
        "CELERY_TASK_ALWAYS_EAGER": "true", "DJANGO_SETTINGS_MODULE": "hangar.settings", "LOG_LEVEL": "WARNING",
    })  # fmt: skip
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def _keystore(folder: Path) -> Path:
    path = folder / "bench.p12"
    subprocess.run(
        ["keytool", "-genkeypair", "-keystore", str(path), "-storetype", "PKCS12", "-alias", "bench", "-keyalg", "RSA",
         "-keysize", "2048", "-validity", "3650", "-dname", "CN=Hangar bench", "-storepass", STORE_PASSWORD],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return path


def _icon() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGBA", (512, 512), (30, 90, 200, 255)).save(out, format="PNG")
    return out.getvalue()


def _bundle() -> bytes:
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("index.html", "<!doctype html><title>Bench</title><h1>Bench</h1>")
        archive.writestr("app.js", "console.log('bench');\n" * 200)
    return out.getvalue()


def _tenant_profile(index: int, keystore: Path, artifact_format: str = "apk") -> Any:
    from hangar.builds import credentials, profiles
    from hangar.builds.android.toolchain import SigningMaterial
    from tenants.services.operators import operator_app_create

    app, _ = operator_app_create(
        organization_name=f"bench-org-{index}", app_name=f"bench-app-{index}", owner_email=f"bench{index}@example.com"
    )
    material = SigningMaterial(keystore=keystore.read_bytes(), keystore_type="pkcs12", alias="bench",
                               store_password=STORE_PASSWORD, key_password=STORE_PASSWORD)  # fmt: skip
    credentials.credential_store(app=app, name="release", material=material)
    fields = profiles.profile_fields_checked({
        "package_name": f"com.example.bench{index}", "label": f"Bench {index}", "version_code": 1,
        "version_name": "1.0", "credential": "release", "artifact_format": artifact_format,
    })  # fmt: skip
    return profiles.profile_save(app=app, fields=fields, icon_png=_icon(), web_bundle=_bundle())


def measure_idle(profile: Any, count: int) -> dict[str, Any]:
    from hangar.builds.models import Build
    from hangar.builds.queue import build_request

    durations, cpu, steps = [], [], []
    for _ in range(count):
        started, cpu_started = time.perf_counter(), _cpu_seconds()
        build = build_request(app=profile.app, profile=profile)  # outside a transaction: the worker runs at once
        elapsed = time.perf_counter() - started
        cpu.append((_cpu_seconds() - cpu_started) * 1000)
        build.refresh_from_db()
        if build.state != Build.State.SUCCEEDED:
            raise SystemExit(f"build {build.number} ended {build.state}: {build.error_message}")
        durations.append(elapsed * 1000)
        steps.append(build.report.get("steps_seconds", {}))
    step_means = {name: round(statistics.mean(s[name] for s in steps) * 1000, 1) for name in steps[0]}
    return {
        "builds": count, **{k: round(v, 1) for k, v in percentiles(durations).items()}, "step_ms": step_means,
        "cpu_ms": {k: round(v, 1) for k, v in percentiles(cpu).items()},
    }  # fmt: skip


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished children (every tool a build ran)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measure_queue(profiles: list[Any], total: int, workers: int) -> dict[str, Any]:
    from hangar.builds.models import Build
    from hangar.builds.queue import build_request
    from hangar.builds.tasks import run_next
    from hangar.celery_app import app as celery_app

    celery_app.conf.task_always_eager = False  # notices go to Redis; these threads are the workers
    first = total // 2
    rest = (total - first) // max(1, len(profiles) - 1)
    counts = [first] + [rest] * (len(profiles) - 1)
    counts[-1] += total - sum(counts)
    for profile, count in zip(profiles, counts, strict=True):
        for _ in range(count):
            build_request(app=profile.app, profile=profile)

    def work() -> None:
        from django.db import connection

        try:
            while run_next.run(platform="android") is not None:
                pass
        finally:
            connection.close()

    started, cpu_started = time.perf_counter(), _cpu_seconds()
    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    cpu_seconds = _cpu_seconds() - cpu_started
    celery_app.conf.task_always_eager = True
    builds = list(Build.objects.filter(app__in=[p.app for p in profiles]).select_related("app").order_by("started_at"))
    failed = [b.number for b in builds if b.state != Build.State.SUCCEEDED]
    names = {p.app_id: chr(ord("A") + i) for i, p in enumerate(profiles)}
    waits: dict[str, list[float]] = {}
    for build in builds:
        assert build.started_at is not None
        waits.setdefault(names[build.app_id], []).append((build.started_at - build.requested_at).total_seconds())
    return {
        "builds": len(builds), "workers": workers, "queued_per_tenant": dict(zip(names.values(), counts, strict=True)),
        "failed": failed, "seconds": round(elapsed, 1), "builds_per_minute": round(len(builds) * 60 / elapsed, 1),
        "cpu_seconds_per_build": round(cpu_seconds / max(1, len(builds)), 2),
        "order": "".join(names[b.app_id] for b in builds),
        "mean_wait_seconds": {name: round(statistics.mean(w), 1) for name, w in sorted(waits.items())},
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server-url", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"))
    parser.add_argument("--idle", type=int, default=20, help="builds timed one after the other")
    parser.add_argument("--queue", type=int, default=50, help="builds queued at once (0: the idle part only)")
    parser.add_argument("--tenants", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--artifact-format", choices=["apk", "aab"], default="apk", help="what every build makes")
    parser.add_argument("--database", default=DATABASE, help="the database to recreate for the run")
    args = parser.parse_args()
    if not shutil.which("apksigner"):
        raise SystemExit("the Android toolchain is missing: make toolchains")
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    redis_flush(args.redis_url)
    var_dir = Path(tempfile.mkdtemp(prefix="builds-var-", dir=WORK_DIR))
    try:
        _setup_django(database_recreate(server_url=args.server_url, name=args.database), args.redis_url, var_dir)
        keystore = _keystore(var_dir)
        profiles = [_tenant_profile(i, keystore, args.artifact_format) for i in range(args.tenants)]
        idle = measure_idle(profiles[0], args.idle)
        print(f"Request to signed {args.artifact_format.upper()}, idle queue ({idle['builds']} builds): "
              f"p50 {idle['p50']:.0f} ms, p99 {idle['p99']:.0f} ms, max {idle['max']:.0f} ms")  # fmt: skip
        print(f"  CPU per build (this process + its tools): p50 {idle['cpu_ms']['p50']:.0f} ms, "
              f"p99 {idle['cpu_ms']['p99']:.0f} ms")  # fmt: skip
        print("  mean per step (ms): " + ", ".join(f"{k} {v}" for k, v in idle["step_ms"].items()))
        from hangar.builds.models import Build

        Build.objects.all().delete()
        if not args.queue:
            return 0
        shared = measure_queue(profiles, args.queue, args.workers)
        print(f"Shared queue: {shared['builds']} builds from {args.tenants} tenants {shared['queued_per_tenant']}, "
              f"{args.workers} workers: {shared['builds_per_minute']} builds/min ({shared['seconds']} s), "
              f"failed {len(shared['failed'])}, {shared['cpu_seconds_per_build']} CPU s per build")  # fmt: skip
        print(f"  order served: {shared['order']}")
        print(f"  mean wait (s): {shared['mean_wait_seconds']}")
        result = {"idle": idle, "shared": shared, "cpus": os.cpu_count()}
        out = WORK_DIR / f"builds-{time.strftime('%Y%m%d-%H%M%S')}.json"
        out.write_text(json.dumps(result, indent=2))
        print(f"results: {out}")
        return 1 if shared["failed"] else 0
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)
        redis_flush(args.redis_url)


if __name__ == "__main__":
    sys.exit(main())
