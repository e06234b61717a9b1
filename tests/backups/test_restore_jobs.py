"""Restores run as jobs: the app refuses writes meanwhile (reads see the old content until the commit), a worker
that dies changes nothing and the redelivered task finishes, and cloud-code variables come back sealed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.urls import reverse

from hangar.backups import restores
from hangar.backups.lease import RestoreLease, restore_running
from hangar.backups.models import Backup, Restore
from hangar.backups.restores import MAX_ATTEMPTS, RestoreBusyError, restore_record, restore_run
from hangar.backups.services import backup_record, backup_run
from hangar.caller import Caller
from hangar.cloudcode.models import CloudVariable
from hangar.cloudcode.services import set_variable
from hangar.datastore import schemas
from hangar.datastore.models import SchemaClass
from hangar.secretbox import decrypt_secret
from tests.conftest import REPO_DIR, LiveServer, Tenant, _database_url, make_tenant
from tests.dashboard.conftest import logged_in
from tests.datastore.conftest import ParseApp

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _local_backups(settings: Any, tmp_path: Path) -> None:
    settings.HANGAR_BACKUP_BACKEND = "local"
    settings.HANGAR_BACKUP_DIR = tmp_path / "backups"


def _headers(tenant: Tenant, *, master: bool = False) -> dict[str, str]:
    return tenant.parse_headers("master" if master else "rest")


def _seed(server: LiveServer, tenant: Tenant, label: str, count: int) -> None:
    for n in range(count):
        made = httpx.post(f"{server.url}/parse/classes/Thing", json={"n": n, "label": label},
                          headers=_headers(tenant, master=True), timeout=30)  # fmt: skip
        assert made.status_code == 201, made.text


def _labels(server: LiveServer, tenant: Tenant) -> list[str]:
    found = httpx.get(f"{server.url}/parse/classes/Thing", params={"limit": 1000},
                      headers=_headers(tenant, master=True), timeout=30)  # fmt: skip
    assert found.status_code == 200, found.text
    return sorted({row["label"] for row in found.json()["results"]})


def _backup_of(tenant: Tenant) -> Backup:
    backup = backup_run(backup_id=backup_record(app=tenant.app, include_sessions=False, author="t").pk)
    assert backup.status == Backup.Status.DONE, backup.error
    return backup


def test_writes_are_refused_and_reads_see_the_old_content_until_the_restore_commits(
    live_server: LiveServer, tenant_a: Tenant, tenant_b: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed(live_server, tenant_a, "backed-up", 20)
    backup = _backup_of(tenant_a)
    _seed(live_server, tenant_b, "old", 5)
    seen: dict[str, Any] = {}
    real_done_inside = restores._done_inside

    def probing_done_inside(restore: Restore) -> Any:
        mark = real_done_inside(restore)

        def probe(restored: Any) -> None:
            # Everything is loaded but not committed: what do the app's clients see now?
            seen["labels"] = _labels(live_server, tenant_b)
            seen["write"] = httpx.post(f"{live_server.url}/parse/classes/Thing", json={"label": "late"},
                                       headers=_headers(tenant_b), timeout=30)  # fmt: skip
            seen["other_app_write"] = httpx.post(f"{live_server.url}/parse/classes/Thing", json={"label": "a"},
                                                 headers=_headers(tenant_a), timeout=30)  # fmt: skip
            seen["status"] = Restore.objects.get(pk=restore.pk).status
            mark(restored)

        return probe

    monkeypatch.setattr(restores, "_done_inside", probing_done_inside)
    restore = restore_run(restore_id=restore_record(app=tenant_b.app, author="t", backup=backup).pk)

    assert seen["labels"] == ["old"]  # nothing partial: the old content, whole, until the commit
    assert seen["write"].status_code == 503
    assert seen["write"].json()["code"] == 119
    assert "being restored" in seen["write"].json()["error"]
    assert seen["other_app_write"].status_code == 201  # another app is not affected
    assert seen["status"] == "running"
    assert restore.status == Restore.Status.DONE
    assert (restore.attempts, restore.counts["objects"]) == (1, 20)
    assert _labels(live_server, tenant_b) == ["backed-up"]
    # The lease is gone with the restore: the app takes writes again.
    assert not restore_running(tenant_b.app.pk)
    again = httpx.post(f"{live_server.url}/parse/classes/Thing", json={"label": "after"},
                       headers=_headers(tenant_b), timeout=30)  # fmt: skip
    assert again.status_code == 201, again.text


async def test_the_lease_alone_makes_the_app_read_only_for_every_client(
    app_a: ParseApp, app_b: ParseApp, tenant_a: Tenant
) -> None:
    created = await app_a.request("POST", "/classes/Thing", {"n": 1}, master=True)
    lease = RestoreLease(tenant_a.app.pk, "rs_probe")
    await sync_to_async(lease.take)()
    try:
        for master in (False, True):
            refused = await app_a.request("POST", "/classes/Thing", {"n": 2}, master=master)
            assert (refused.status_code, refused.json()["code"]) == (503, 119)
            assert refused.headers["retry-after"] == "10"
        deleted = await app_a.request("DELETE", f"/classes/Thing/{created.json()['objectId']}", master=True)
        assert deleted.status_code == 503
        batch = await app_a.request("POST", "/batch", {"requests": [{"method": "POST", "path": "/parse/classes/Thing",
                                                                      "body": {"n": 3}}]})  # fmt: skip
        assert batch.status_code == 503
        assert (await app_a.request("GET", "/classes/Thing")).json()["results"][0]["n"] == 1
        # A query sent as POST with _method=GET (the JS SDK does so) is a read.
        query = await app_a.request("POST", "/classes/Thing", {"_method": "GET", "where": {"n": 1}})
        assert query.status_code == 200, query.text
        assert (await app_b.request("POST", "/classes/Thing", {"n": 1}, master=True)).status_code == 201
    finally:
        await sync_to_async(lease.release)()
    assert (await app_a.request("POST", "/classes/Thing", {"n": 2})).status_code == 201


_DYING_WORKER = """
import os, signal, sys
from pathlib import Path
import django
django.setup()
from django.conf import settings
from django.urls import reverse
settings.HANGAR_BACKUP_DIR = Path(os.environ["PROBE_BACKUP_DIR"])
from hangar.backups import restore as loader
real_copy_in = loader._copy_in

def copy_then_die(table, columns, app_pk, chunks, part, progress):
    def die(part, count):
        if count:  # rows sent inside the open transaction: the worker is killed now
            os.kill(os.getpid(), signal.SIGKILL)
    return real_copy_in(table, columns, app_pk, chunks, part, die)

loader._copy_in = copy_then_die
from hangar.backups.restores import restore_run
restore_run(restore_id=int(sys.argv[1]))
"""


def _worker_that_dies(restore: Restore) -> int:
    env = {
        **os.environ, "DJANGO_SETTINGS_MODULE": "hangar.settings_test",
        "PYTHONPATH": os.pathsep.join([str(REPO_DIR / "platform"), str(REPO_DIR)]),
        "DATABASE_URL": _database_url(settings.DATABASES["default"]), "HANGAR_BACKUP_BACKEND": "local",
        "PROBE_BACKUP_DIR": str(settings.HANGAR_BACKUP_DIR),
    }  # fmt: skip
    done = subprocess.run([sys.executable, "-c", _DYING_WORKER, str(restore.pk)], env=env, timeout=120, check=False)
    return done.returncode


def test_a_worker_killed_mid_restore_changes_nothing_and_the_redelivered_task_finishes(
    live_server: LiveServer, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    _seed(live_server, tenant_a, "backed-up", 10)
    backup = _backup_of(tenant_a)
    _seed(live_server, tenant_b, "old", 3)
    restore = restore_record(app=tenant_b.app, author="t", backup=backup)

    assert _worker_that_dies(restore) == -9  # SIGKILL, mid-COPY
    restore.refresh_from_db()
    assert (restore.status, restore.attempts) == (Restore.Status.RUNNING, 1)
    assert _labels(live_server, tenant_b) == ["old"]  # the transaction died with the worker
    assert restore_running(tenant_b.app.pk)  # until the lease lapses (LEASE_SECONDS) or the task comes back
    with pytest.raises(RestoreBusyError):  # no second restore meanwhile
        restore_record(app=tenant_b.app, author="t", backup=backup)

    finished = restore_run(restore_id=restore.pk)  # the broker's redelivery of the unacknowledged task
    assert (finished.status, finished.attempts) == (Restore.Status.DONE, 2)
    assert _labels(live_server, tenant_b) == ["backed-up"]
    assert not restore_running(tenant_b.app.pk)
    assert restore_run(restore_id=restore.pk).attempts == 2  # a duplicate delivery changes nothing


def test_a_restore_whose_workers_keep_dying_fails_cleanly(live_server: LiveServer, tenant_a: Tenant) -> None:
    backup = _backup_of(tenant_a)
    other = make_tenant("carol")
    _seed(live_server, other, "kept", 2)
    restore = restore_record(app=other.app, author="t", backup=backup)
    Restore.objects.filter(pk=restore.pk).update(status=Restore.Status.RUNNING, attempts=MAX_ATTEMPTS)

    ended = restore_run(restore_id=restore.pk)
    assert ended.status == Restore.Status.FAILED
    assert "nothing was changed" in ended.error
    assert _labels(live_server, other) == ["kept"]
    assert restore_record(app=other.app, author="t", backup=backup).status == Restore.Status.QUEUED


def test_cloud_variables_come_back_sealed_and_only_with_this_deployments_key(tenant_a: Tenant, settings: Any) -> None:
    set_variable(tenant_a.app, "STRIPE_KEY", "sk_live_very_secret", secret=True)
    set_variable(tenant_a.app, "MODE", "production", secret=False)
    backup = _backup_of(tenant_a)
    archive = Path(settings.HANGAR_BACKUP_DIR) / backup.storage_key
    assert b"sk_live_very_secret" not in archive.read_bytes()  # sealed in the archive, never in clear
    assert backup.counts["cloud_variables"] == 2

    copy = make_tenant("carol")
    restored = restore_run(restore_id=restore_record(app=copy.app, author="t", backup=backup).pk)
    assert restored.status == Restore.Status.DONE, restored.error
    values = {v.name: (decrypt_secret(v.ciphertext), v.is_secret) for v in CloudVariable.objects.filter(app=copy.app)}
    assert values == {"STRIPE_KEY": ("sk_live_very_secret", True), "MODE": ("production", False)}

    # Another deployment (other encryption keys) restores everything else and says which variables it skipped.
    settings.HANGAR_ENCRYPTION_KEYS = ["another deployment's key"]
    elsewhere = make_tenant("dave")
    skipped = restore_run(restore_id=restore_record(app=elsewhere.app, author="t", backup=backup).pk)
    assert skipped.status == Restore.Status.DONE, skipped.error
    assert sorted(skipped.skipped_variables) == ["MODE", "STRIPE_KEY"]
    assert skipped.counts["cloud_variables"] == 0
    assert not CloudVariable.objects.filter(app=elsewhere.app).exists()


def test_the_dashboard_refuses_edits_of_an_app_being_restored(tenant_a: Tenant) -> None:
    alice = logged_in(tenant_a.developer)
    add_class = reverse("dashboard:data_class_create", args=[tenant_a.organization.pk, tenant_a.app.pk])
    lease = RestoreLease(tenant_a.app.pk, "rs_probe")
    lease.take()
    try:
        page = alice.post(add_class, {"class_name": "Pet"}, follow=True).content.decode()
        assert "being restored" in page
        assert not Restore.objects.exists()
        assert not SchemaClass.objects.filter(app=tenant_a.app, class_name="Pet").exists()
    finally:
        lease.release()
    alice.post(add_class, {"class_name": "Pet"})
    assert SchemaClass.objects.filter(app=tenant_a.app, class_name="Pet").exists()


def test_a_restore_that_cannot_take_its_lease_fails_and_frees_the_app(
    tenant_a: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis down at the start: the restore fails with the reason (the app cannot be made read-only), changes
    nothing, and does not stay "running" (which would block every later restore of the app)."""
    body = {"fields": {"n": {"type": "Number"}}}
    master = Caller(app_pk=tenant_a.app.pk, is_master=True)
    async_to_sync(schemas.schema_create)(caller=master, class_name="Thing", body=body)
    backup = _backup_of(tenant_a)
    copy = make_tenant("carol")

    def redis_down(self: RestoreLease) -> None:
        raise redis.ConnectionError("Connection refused")

    monkeypatch.setattr(RestoreLease, "take", redis_down)
    failed = restore_run(restore_id=restore_record(app=copy.app, author="t", backup=backup).pk)
    assert failed.status == Restore.Status.FAILED
    assert "could not be made read-only" in failed.error
    assert not SchemaClass.objects.filter(app=copy.app, class_name="Thing").exists()
    monkeypatch.undo()
    assert restore_run(restore_id=restore_record(app=copy.app, author="t", backup=backup).pk).status == "done"
    assert SchemaClass.objects.filter(app=copy.app, class_name="Thing").exists()
