"""The app's "Schema and backups" page: history and rollback for developers, backups for admins only."""

from __future__ import annotations

import io
import tarfile

import pytest
from django.urls import reverse

from hangar.backups.models import Backup, BackupSchedule
from hangar.schema_history.models import SchemaMigration
from tenants.services import schema_code
from tests.conftest import Tenant
from tests.dashboard.conftest import AddMember, logged_in

pytestmark = pytest.mark.django_db(transaction=True)

SCHEMA = {"classes": {"Post": {"fields": {"title": {"type": "String"}}}}}


def _url(tenant: Tenant, name: str, *extra: object) -> str:
    return reverse(f"dashboard:{name}", args=[tenant.organization.pk, tenant.app.pk, *extra])


def test_owner_sees_history_rolls_back_and_backs_up(tenant_a: Tenant):
    schema_code.schema_push(
        actor=tenant_a.developer, organization=tenant_a.organization, app_pk=tenant_a.app.pk, document=SCHEMA,
        allow_destructive=False, message="first",
    )  # fmt: skip
    client = logged_in(tenant_a.developer)
    page = client.get(_url(tenant_a, "schema_backups")).content.decode()
    assert "+ class Post" in page
    assert "Roll back migration 1" in page

    client.post(_url(tenant_a, "schema_rollback"))
    assert SchemaMigration.objects.get(app=tenant_a.app, number=1).rolled_back
    assert "rolled back" in client.get(_url(tenant_a, "schema_backups")).content.decode()

    client.post(_url(tenant_a, "backup_create"))
    backup = Backup.objects.get(app=tenant_a.app)
    assert backup.status == "done"  # Celery runs eagerly in the tests
    page = client.get(_url(tenant_a, "schema_backups")).content.decode()
    assert backup.public_id in page
    download = client.get(_url(tenant_a, "backup_download", backup.public_id))
    assert download.status_code == 200
    with tarfile.open(fileobj=io.BytesIO(b"".join(download.streaming_content))) as tar:
        assert "manifest.json" in tar.getnames()

    client.post(_url(tenant_a, "backup_schedule"), {"every_hours": "12", "keep": "3"})
    assert BackupSchedule.objects.get(app=tenant_a.app).every_hours == 12
    client.post(_url(tenant_a, "backup_schedule"), {"off": "1"})
    assert not BackupSchedule.objects.filter(app=tenant_a.app).exists()


def test_a_developer_sees_the_history_but_not_the_backups(tenant_a: Tenant, add_member: AddMember):
    developer = add_member(tenant_a, "dev", "developer").developer
    client = logged_in(developer)
    page = client.get(_url(tenant_a, "schema_backups")).content.decode()
    assert "Schema history" in page
    assert "backup-now" not in page
    assert client.post(_url(tenant_a, "backup_create")).status_code == 403
    assert not Backup.objects.exists()


def test_another_tenant_gets_not_found_everywhere(tenant_a: Tenant, tenant_b: Tenant):
    bob = logged_in(tenant_b.developer)
    backup_owner = logged_in(tenant_a.developer)
    backup_owner.post(_url(tenant_a, "backup_create"))
    backup = Backup.objects.get(app=tenant_a.app)
    assert bob.get(_url(tenant_a, "schema_backups")).status_code == 404
    assert bob.post(_url(tenant_a, "backup_create")).status_code == 404
    assert bob.get(_url(tenant_a, "backup_download", backup.public_id)).status_code == 404
    # Nor through his own app's page with Alice's backup id.
    assert bob.get(_url(tenant_b, "backup_download", backup.public_id)).status_code == 404
    assert Backup.objects.count() == 1
