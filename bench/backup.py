"""``make bench-backup``: per-app backup and restore throughput against pg_dump/pg_restore of the same rows.

Seeds one app with N objects (COPY into its partition: realistic rows, not the subject of
the measurement), then times, on the same PostgreSQL:

* Hangar's backup (hangar.backups: COPY out of the app's partition in one snapshot, gzip
  level 1, tar, into backup storage) and restore into a new app (COPY in, schema, indexes);
* ``pg_dump -Fc -Z1`` of the app's partition table and ``pg_restore`` of it into a scratch
  database: the physical ceiling for the same rows (no per-app rewrite, no schema, no files).

Reports objects/s and MB/s (of the partition's on-disk size, and of the archive) for each.
See bench/README.md, "Backup and restore".

    .venv/bin/python bench/backup.py [--objects 1000000] [--server-url postgresql://postgres@127.0.0.1:5432]
        [--redis-url redis://127.0.0.1:6379/14]
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.path.insert(1, str(Path(__file__).resolve().parents[1] / "platform"))

import argparse
import json
import os
import resource
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from typing import Any

import psycopg

from bench.databases import database_recreate
from bench.paths import WORK_DIR

DATABASE = "hangar_bench_backup"
SEED_BATCH = 50_000


@dataclass
class Figure:
    name: str
    seconds: float
    objects: int
    table_bytes: int
    archive_bytes: int
    # CPU seconds of the measuring process (Hangar's worker code) or of pg_dump/pg_restore (their own).
    client_cpu_seconds: float = 0.0

    @property
    def objects_per_second(self) -> float:
        return self.objects / self.seconds if self.seconds else 0.0

    def row(self) -> str:
        mb = 1024 * 1024
        return (
            f"{self.name:<22} {self.seconds:>9.2f} {self.objects_per_second:>12,.0f} "
            f"{self.table_bytes / mb / self.seconds:>12.1f} {self.archive_bytes / mb:>11.1f} "
            f"{self.client_cpu_seconds:>10.2f}"
        )


def _setup_django(url: str, redis_url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["REDIS_URL"] = redis_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hangar.settings")
    os.environ.setdefault("HANGAR_SECRET_KEY", "bench-backup-not-secret")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def _seed_rows(start: int, count: int) -> bytes:
    """COPY text rows of BenchItem: a few typed fields and a public-read ACL, ~200 bytes of JSON each."""
    lines = []
    for n in range(start, start + count):
        data = json.dumps({
            "score": n % 1000, "name": f"item-{n}", "tags": ["bench", f"t{n % 50}"],
            "when": {"__type": "Date", "iso": "2026-01-01T00:00:00.000Z"}, "ACL": {"*": {"read": True}},
            "nested": {"a": n, "b": "some text that makes the row look like an app's"},
        }, separators=(",", ":"))  # fmt: skip
        object_id = f"b{n:09d}"
        lines.append(
            f"BenchItem\t{object_id}\t{data}\t{{*}}\t\\N\t2026-01-01 00:00:00+00\t2026-01-01 00:00:00+00\t\\N\n"
        )
    return "".join(lines).encode()


def seed(app_pk: int, objects: int) -> None:
    from asgiref.sync import async_to_sync
    from django.db import connection, transaction

    from hangar.caller import Caller
    from hangar.datastore import schemas
    from hangar.datastore.partitions import object_partition

    fields = {"score": {"type": "Number"}, "name": {"type": "String"}, "tags": {"type": "Array"},
              "when": {"type": "Date"}, "nested": {"type": "Object"}}  # fmt: skip
    body = {"fields": fields, "indexes": {"score_1": {"score": 1}}}
    async_to_sync(schemas.schema_create)(
        caller=Caller(app_pk=app_pk, is_master=True), class_name="BenchItem", body=body
    )
    table = object_partition(app_pk)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} ALTER COLUMN app_id SET DEFAULT {int(app_pk)}")
        with cursor.cursor.copy(
            f"COPY {table} (class_name, object_id, data, _rperm, _wperm, created_at, updated_at, expire_at) FROM STDIN"
        ) as copy:
            for start in range(0, objects, SEED_BATCH):
                copy.write(_seed_rows(start, min(SEED_BATCH, objects - start)))
        cursor.execute(f"ALTER TABLE {table} ALTER COLUMN app_id DROP DEFAULT")
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {table}")


def _table_bytes(app_pk: int) -> int:
    from django.db import connection

    from hangar.datastore.partitions import object_partition

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_total_relation_size(%s)", [object_partition(app_pk)])
        return int(cursor.fetchone()[0])


def _timed(work: Any) -> tuple[Any, float, float]:
    """Run ``work()``; returns its result, the wall seconds and this process's CPU seconds."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def _restored(app: Any, backup: Any, objects: int) -> Any:
    """The restore job's whole path as a worker runs it: recorded, archive fetched from storage, loaded, marked done."""
    from hangar.backups.restores import restore_record, restore_run

    restore = restore_run(restore_id=restore_record(app=app, author="bench", backup=backup).pk)
    if restore.status != "done" or restore.counts["objects"] != objects:
        raise RuntimeError(f"restore {restore.status}: {restore.error} ({restore.counts})")
    return restore


def measure_hangar(app: Any, owner: Any, objects: int) -> list[Figure]:
    from hangar.backups.services import backup_record, backup_run
    from hangar.backups.storage import backup_storage
    from tenants.services import app_create

    table_bytes = _table_bytes(app.pk)
    backup, backed_up, backup_cpu = _timed(
        lambda: backup_run(backup_id=backup_record(app=app, include_sessions=False, author="bench").pk)
    )
    if backup.status != "done":
        raise RuntimeError(f"backup failed: {backup.error}")
    target, _ = app_create(actor=owner, organization=app.organization, name="bench-restored")
    _restore, restore_seconds, restore_cpu = _timed(lambda: _restored(target, backup, objects))
    # Over an app that holds the same 1M rows: they are deleted (row versions, so readers keep them until
    # the commit) in the restore's transaction before the COPY.
    _restore, over_seconds, over_cpu = _timed(lambda: _restored(target, backup, objects))
    backup_storage().delete(backup.storage_key)
    return [
        Figure("hangar backup", backed_up, objects, table_bytes, backup.size, backup_cpu),
        Figure("hangar restore (new)", restore_seconds, objects, table_bytes, backup.size, restore_cpu),
        Figure("hangar restore (over)", over_seconds, objects, table_bytes, backup.size, over_cpu),
    ]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure_pg_dump(
    url: str, server_url: str, scratch_name: str, app_pk: int, objects: int, table_bytes: int
) -> tuple[Figure, Figure]:
    from hangar.datastore.partitions import object_partition

    with tempfile.TemporaryDirectory(prefix="bench-pgdump-") as scratch:
        dump = Path(scratch) / "app.dump"
        started, children = time.perf_counter(), _children_cpu()
        subprocess.run(["pg_dump", "-Fc", "-Z1", "-t", object_partition(app_pk), "-f", str(dump), url], check=True)
        dumped, dump_cpu = time.perf_counter() - started, _children_cpu() - children
        target = database_recreate(server_url=server_url, name=scratch_name)
        started, children = time.perf_counter(), _children_cpu()
        # The partition's ATTACH and its parent's index attachments fail in the scratch database (no
        # parent there); pg_restore goes on with the table, its rows and its own indexes, checked below.
        subprocess.run(["pg_restore", "--no-owner", "--no-privileges", "-d", target, str(dump)], capture_output=True)
        restored, restore_cpu = time.perf_counter() - started, _children_cpu() - children
        with psycopg.connect(target) as conn:
            row = conn.execute(f"SELECT count(*) FROM {object_partition(app_pk)}").fetchone()
        if not row or row[0] != objects:
            raise RuntimeError(f"pg_restore loaded {row[0] if row else 0} rows of {objects}")
        size = dump.stat().st_size
    return (
        Figure("pg_dump -Fc -Z1", dumped, objects, table_bytes, size, dump_cpu),
        Figure("pg_restore", restored, objects, table_bytes, size, restore_cpu),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--objects", type=int, default=1_000_000)
    parser.add_argument(
        "--server-url", default=os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
    )
    parser.add_argument("--database", default=DATABASE, help="Recreated for the run (and <name>_restore).")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14"))
    args = parser.parse_args(argv)
    url = database_recreate(server_url=args.server_url, name=args.database)
    _setup_django(url, args.redis_url)
    from tenants.models import Developer
    from tenants.services import operator_app_create

    app, _ = operator_app_create(organization_name="bench", app_name="bench-backup", owner_email="bench@example.com")
    owner = Developer.objects.get(email="bench@example.com")
    print(f"seeding {args.objects:,} objects", flush=True)
    seed(app.pk, args.objects)
    hangar = measure_hangar(app, owner, args.objects)
    physical = measure_pg_dump(
        url, args.server_url, f"{args.database}_restore", app.pk, args.objects, hangar[0].table_bytes
    )
    figures = [*hangar, *physical]
    print(f"{'':<22} {'seconds':>9} {'objects/s':>12} {'table MB/s':>12} {'archive MB':>11} {'client CPU':>10}")
    for figure in figures:
        print(figure.row())
    dump, pg_restore = physical
    print(f"hangar/pg ratio: backup {hangar[0].seconds / dump.seconds:.2f}x the time, "
          f"restore {hangar[1].seconds / pg_restore.seconds:.2f}x (new app), "
          f"{hangar[2].seconds / pg_restore.seconds:.2f}x (over the app)")  # fmt: skip
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    out = WORK_DIR / f"backup-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps({"objects": args.objects, "figures": [
        {**asdict(f), "objects_per_second": f.objects_per_second} for f in figures]}, indent=2))  # fmt: skip
    print(f"results in {out}")
    database_recreate(server_url=args.server_url, name=f"{args.database}_restore")
    return 0


if __name__ == "__main__":
    sys.exit(main())
