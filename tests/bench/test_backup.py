"""The backup benchmark's parts at a small scale: seeding by COPY, Hangar's backup and restore, and
pg_dump/pg_restore of the same partition, each checked for the rows it claims to have moved."""

from __future__ import annotations

import psycopg
import pytest
from django.conf import settings

from bench.backup import measure_hangar, measure_pg_dump, seed
from tenants.models import Developer
from tenants.services import operator_app_create
from tests.conftest import _database_url

pytestmark = pytest.mark.django_db(transaction=True)

OBJECTS = 3000


def test_backup_benchmark_measures_both_sides():
    app, _ = operator_app_create(organization_name="bench", app_name="bench-backup", owner_email="bench@example.com")
    owner = Developer.objects.get(email="bench@example.com")
    seed(app.pk, OBJECTS)
    backup, restore, restore_over = measure_hangar(app, owner, OBJECTS)  # raises unless every object came back
    assert backup.objects == restore.objects == restore_over.objects == OBJECTS
    assert restore.name == "hangar restore (new)"
    assert restore_over.name == "hangar restore (over)"
    assert backup.archive_bytes > 0
    assert backup.table_bytes > 0
    assert backup.objects_per_second > 0
    url = _database_url(settings.DATABASES["default"])
    server_url = url.rsplit("/", 1)[0]
    scratch = f"{settings.DATABASES['default']['NAME']}_bench"
    try:
        dump, load = measure_pg_dump(url, server_url, scratch, app.pk, OBJECTS, backup.table_bytes)
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
    assert dump.archive_bytes > 0
    assert load.objects == OBJECTS  # pg_restore's row count is checked inside
    assert "hangar backup" in backup.row()
