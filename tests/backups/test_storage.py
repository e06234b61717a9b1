"""Backup storage on both backends (a local directory, and S3 on a moto server speaking the real
protocol): the archive lands there, comes back, and restores into another app equal."""

from __future__ import annotations

import secrets
import stat
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from hangar.backups.models import Backup
from hangar.backups.services import backup_record, backup_restore, backup_run
from tests.conftest import Tenant, make_tenant
from tests.datastore.conftest import ParseApp
from tests.files.conftest import S3_BUCKET, S3_REGION, MotoServer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=["local", "s3"])
def backup_backend(request: pytest.FixtureRequest, settings: Any, tmp_path: Path) -> str:
    if request.param == "s3":
        moto: MotoServer = request.getfixturevalue("moto_server")
        settings.HANGAR_BACKUP_BACKEND = "s3"
        settings.HANGAR_BACKUP_S3_BUCKET = S3_BUCKET
        settings.HANGAR_BACKUP_S3_PREFIX = f"backups-{secrets.token_hex(4)}"
        settings.HANGAR_FILES_S3_REGION = S3_REGION
        settings.HANGAR_FILES_S3_ENDPOINT_URL = moto.endpoint_url
        settings.HANGAR_FILES_S3_ACCESS_KEY_ID = "testing"
        settings.HANGAR_FILES_S3_SECRET_ACCESS_KEY = "testing"
    else:
        settings.HANGAR_BACKUP_BACKEND = "local"
        settings.HANGAR_BACKUP_DIR = tmp_path / "backups"
    return str(request.param)


async def _objects(app: ParseApp) -> list[dict[str, Any]]:
    response = await app.request("GET", "/classes/Thing", master=True, params={"order": "objectId", "limit": 1000})
    return response.json()["results"]


async def test_backup_goes_to_storage_and_restores(
    backup_backend: str, app_a: ParseApp, tenant_a: Tenant, parse_client: Any, request: pytest.FixtureRequest
):
    for n in range(25):
        created = await app_a.request("POST", "/classes/Thing", {"n": n, "label": f"thing {n}\ttab"}, master=True)
        assert created.status_code == 201
    backup = await sync_to_async(backup_record)(app=tenant_a.app, include_sessions=False, author="test")
    backup = await sync_to_async(backup_run)(backup_id=backup.pk)
    assert backup.status == Backup.Status.DONE, backup.error
    assert backup.counts["objects"] >= 25
    if backup_backend == "s3":
        moto: MotoServer = request.getfixturevalue("moto_server")
        from django.conf import settings

        head = moto.client().head_object(
            Bucket=S3_BUCKET, Key=f"{settings.HANGAR_BACKUP_S3_PREFIX}/{backup.storage_key}"
        )
        assert head["ContentLength"] == backup.size
    else:
        from django.conf import settings

        stored = Path(settings.HANGAR_BACKUP_DIR) / backup.storage_key
        assert stored.stat().st_size == backup.size
        assert stat.S_IMODE(stored.stat().st_mode) == 0o600

    other = await sync_to_async(make_tenant)("carol")
    restored = await sync_to_async(backup_restore)(app=other.app, backup=backup)
    assert restored.counts["objects"] == backup.counts["objects"]
    assert await _objects(ParseApp(parse_client, other)) == await _objects(app_a)


def test_unreachable_s3_fails_the_backup_with_the_reason(settings: Any, tenant_a: Tenant):
    """Storage that does not answer: the backup is recorded as failed (with S3's error), not left running."""
    from tests.conftest import _free_port

    settings.HANGAR_BACKUP_BACKEND = "s3"
    settings.HANGAR_BACKUP_S3_BUCKET = S3_BUCKET
    settings.HANGAR_FILES_S3_REGION = S3_REGION
    settings.HANGAR_FILES_S3_ENDPOINT_URL = f"http://127.0.0.1:{_free_port()}"
    settings.HANGAR_FILES_S3_ACCESS_KEY_ID = "testing"
    settings.HANGAR_FILES_S3_SECRET_ACCESS_KEY = "testing"
    backup = backup_run(backup_id=backup_record(app=tenant_a.app, include_sessions=False, author="t").pk)
    assert backup.status == Backup.Status.FAILED
    assert "S3 upload" in backup.error
    assert backup.finished_at is not None
