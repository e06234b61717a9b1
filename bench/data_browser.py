"""The dashboard's data grid: how long a page takes at the start and deep into a large class (keyset paging).

A fresh database (``hangar_bench_data_browser``), one app, one class of ``--rows`` objects
inserted in bulk; then ``tenants.data_browser.data_page`` (what the Data page calls: the
Parse API's find through the datastore, plus the class's count) is timed for the first
page and for a page after a cursor ``--rows - 100`` rows in, for each keyset sort (the
timestamps, objectId, and ``n``: a Number column of the class with an index declared on
it, as a developer sorting by a column of their own would add). Best of ``--rounds``; the
deep page is also timed without the count, with this process's CPU time. The target: a
deep page costs about what the first page does.

    .venv/bin/python bench/data_browser.py [--rows 200000] [--rounds 5] [--database NAME] [--redis URL]
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parents[1] / "platform")]

from bench.databases import database_recreate, redis_flush  # noqa: E402

DATABASE = "hangar_bench_data_browser"
CLASS = "BenchRow"
SORTS = ("-createdAt", "createdAt", "objectId", "n", "-n")  # n: a Number column of the class, indexed


def seed(rows: int) -> Any:
    """An app with one class of ``rows`` objects, inserted straight into its partition; returns the app."""
    from django.db import connection

    from hangar.datastore.partitions import object_partition
    from tenants import data_browser
    from tenants.models import Organization
    from tenants.services import app_create, developer_sign_up

    developer = developer_sign_up(
        email="bench@example.com", password=secrets.token_urlsafe(16), name="Bench"
    )  # nobody signs in: the benchmark acts through services
    organization = Organization.objects.get(memberships__developer=developer)
    app, _keys = app_create(actor=developer, organization=organization, name="bench")
    data_browser.data_class_create(
        actor=developer, organization=organization, app=app, class_name=CLASS, fields={"n": {"type": "Number"}}
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {object_partition(app.pk)} (app_id, class_name, object_id, data, _rperm, _wperm, "
            "created_at, updated_at) "
            # Ten-character ids, unique for up to 268 million rows (a hex counter behind a scrambled prefix).
            "SELECT %s, %s, substr(md5(i::text), 1, 3) || lpad(to_hex(i), 7, '0'), jsonb_build_object('n', i), "
            "'{*}', '{*}', "
            "now() - i * interval '1 millisecond', now() - i * interval '1 millisecond' "
            "FROM generate_series(1, %s) AS i",
            [app.pk, CLASS, rows],
        )
        cursor.execute(f"ANALYZE {object_partition(app.pk)}")
    # The grid sorts a column of the app's own fast when the app declared an index on it (built as /schemas does).
    data_browser.data_index_add(
        actor=developer, organization=organization, app=app, class_name=CLASS, name="n_1", text='{"n": 1}'
    )
    return app


def timed(call: Any, rounds: int) -> float:
    """Best wall time of ``rounds`` calls, in ms."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return min(times)


def deep_cursor(app: Any, sort: str, depth: int) -> str:
    """The cursor the grid would hold after paging ``depth`` rows in (found by walking SQL, not pages)."""
    from django.db import connection

    from hangar.datastore.partitions import object_partition
    from tenants import data_keyset

    column = {"createdAt": "created_at", "objectId": "object_id", "n": "(data->>'n')::numeric"}[sort.lstrip("-")]
    direction = "DESC" if sort.startswith("-") else "ASC"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT object_id, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
            f"(data->>'n')::bigint FROM {object_partition(app.pk)} WHERE class_name = %s "
            f"ORDER BY {column} {direction}, object_id {direction} OFFSET %s LIMIT 1",
            [CLASS, depth],
        )
        object_id, created, n = cursor.fetchone()
    row = {"objectId": object_id, "createdAt": {"__type": "Date", "iso": created}, "n": n}
    return data_keyset.cursor_encode(row, sort)


def measure(app: Any, rows: int, rounds: int) -> list[dict[str, Any]]:
    from tenants import data_browser

    results = []
    for sort in SORTS:
        cursor = deep_cursor(app, sort, rows - 100)
        first = timed(lambda sort=sort: data_browser.data_page(app=app, class_name=CLASS, sort=sort), rounds)
        deep = timed(
            lambda sort=sort, cursor=cursor: data_browser.data_page(
                app=app, class_name=CLASS, sort=sort, cursor=cursor
            ),
            rounds,
        )
        page_only = timed(
            lambda sort=sort, cursor=cursor: data_browser.data_page(
                app=app, class_name=CLASS, sort=sort, cursor=cursor, counted=False
            ),
            rounds,
        )
        cpu = time.process_time()
        data_browser.data_page(app=app, class_name=CLASS, sort=sort, cursor=cursor, counted=False)
        cpu_ms = (time.process_time() - cpu) * 1000
        results.append({"sort": sort, "first_ms": first, "deep_ms": deep, "deep_page_only_ms": page_only,
                        "deep_page_cpu_ms": cpu_ms})  # fmt: skip
    return results


def count_only(app: Any, rounds: int) -> float:
    from tenants import data_browser

    caller = data_browser.master_caller(app)
    return timed(lambda: data_browser._count(app, caller, CLASS, {}), rounds)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/data_browser.py", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432", help="server URL (no database)")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14", help="Redis database; emptied at the start")
    parser.add_argument("--database", default=DATABASE, help="database to (re)create for the run")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ["DATABASE_URL"] = database_recreate(server_url=args.postgres, name=args.database)
    os.environ["REDIS_URL"] = args.redis
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hangar.settings_test")
    redis_flush(args.redis)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    app = seed(args.rows)
    print(f"seeded {args.rows} objects in {time.perf_counter() - started:.1f} s")
    results = measure(app, args.rows, args.rounds)
    deep_label = f"page at row {args.rows - 100} ms"
    print(f"{'sort':<12} {'first page ms':>14} {deep_label:>24} {'same, no count ms':>18} {'its Python CPU ms':>18}")
    for row in results:
        print(f"{row['sort']:<12} {row['first_ms']:>14.1f} {row['deep_ms']:>24.1f} "
              f"{row['deep_page_only_ms']:>18.1f} {row['deep_page_cpu_ms']:>18.1f}")  # fmt: skip
    print(f"of which the class count: {count_only(app, args.rounds):.1f} ms (best of {args.rounds})")
    deep_over_first = statistics.mean(row["deep_ms"] / row["first_ms"] for row in results)
    print(f"deep page / first page, mean over sorts: {deep_over_first:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
