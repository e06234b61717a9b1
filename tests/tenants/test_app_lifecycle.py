"""App provisioning, the operator command, and complete deletion."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.db import connection

from hangar.app_files import app_files_dir
from hangar.cloudcode.models import CloudActivation, CloudVariable, CloudVersion
from hangar.datastore.models import SchemaClass
from hangar.datastore.partitions import partitions_list
from tenants.models import App, AppKey, AuditEvent
from tenants.services import app_delete, app_purge
from tests.conftest import Tenant

pytestmark = pytest.mark.django_db


def test_new_app_is_provisioned_with_partitions_and_system_classes(tenant_a: Tenant):
    assert partitions_list(app_pk=tenant_a.app.pk) == [
        f"datastore_object_app{tenant_a.app.pk}",
        f"datastore_relation_app{tenant_a.app.pk}",
    ]
    classes = set(SchemaClass.objects.filter(app=tenant_a.app).values_list("class_name", flat=True))
    assert classes == {
        "_User",
        "_Role",
        "_Session",
        "_Installation",
        "_JobStatus",
        "_JobSchedule",
        "_Audience",
        "_PushStatus",
    }
    user_fields = SchemaClass.objects.get(app=tenant_a.app, class_name="_User").fields
    assert user_fields["username"] == {"type": "String"}
    assert user_fields["ACL"] == {"type": "ACL"}


def test_partition_holds_only_its_apps_rows(tenant_a: Tenant, tenant_b: Tenant):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO datastore_object (app_id, class_name, object_id, data) VALUES (%s, 'Thing', 'abc', '{}')",
            [tenant_a.app.pk],
        )
        cursor.execute(f"SELECT count(*) FROM datastore_object_app{tenant_b.app.pk}")
        assert cursor.fetchone()[0] == 0
        cursor.execute(f"SELECT count(*) FROM datastore_object_app{tenant_a.app.pk}")
        assert cursor.fetchone()[0] == 1


def test_keys_are_encrypted_at_rest(tenant_a: Tenant):
    stored = " ".join(AppKey.objects.filter(app=tenant_a.app).values_list("ciphertext", flat=True))
    for kind in ("client", "javascript", "rest", "dotnet", "master"):
        assert tenant_a.keys[kind] not in stored
    with connection.cursor() as cursor:
        cursor.execute("SELECT string_agg(t::text, ' ') FROM tenants_appkey t")
        dump = cursor.fetchone()[0]
    assert tenant_a.keys["master"] not in dump


def test_deleting_an_app_removes_everything_it_owns(
    tenant_a: Tenant, tenant_b: Tenant, django_capture_on_commit_callbacks, settings
):
    app = tenant_a.app
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO datastore_object (app_id, class_name, object_id, data) VALUES (%s, 'Thing', 'abc', '{}')",
            [app.pk],
        )
    files = app_files_dir(app_pk=app.pk)
    files.mkdir(parents=True, exist_ok=True)
    (files / "photo.jpg").write_bytes(b"jpeg")
    # Counters as a busy app has them (rotated keys, role and schema changes, logouts, LiveQuery).
    for key in (
        f"hangar:appver:{app.application_id}",
        f"hangar:rolever:{app.pk}",
        f"hangar:schemaver:{app.pk}",
        f"hangar:sessver:{app.pk}",
        f"hangar:live:{app.pk}",
        f"hangar:appver:{tenant_b.application_id}",
    ):
        redis_client().incr(key)
    # Cloud code as a deployed app has it: an active version, a variable, invocation logs.
    version = CloudVersion.objects.create(app=app, number=1, archive=b"zip", sha256="0" * 64, size=3)
    CloudActivation.objects.create(app=app, version=version)
    CloudVariable.objects.create(app=app, name="TOKEN", ciphertext="x", is_secret=True)
    redis_client().lpush(f"hangar:cloud:logs:{app.pk}", b"{}")
    with django_capture_on_commit_callbacks(execute=True):
        app_delete(actor=tenant_a.developer, organization=tenant_a.organization, app_pk=app.pk, confirm_name=app.name)
    assert not App.objects.filter(pk=app.pk).exists()
    assert not AppKey.objects.filter(app_id=app.pk).exists()
    assert not SchemaClass.objects.filter(app_id=app.pk).exists()
    assert not CloudVersion.objects.filter(app_id=app.pk).exists()
    assert not CloudVariable.objects.filter(app_id=app.pk).exists()
    assert partitions_list(app_pk=app.pk) == []
    assert not files.exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM datastore_object WHERE app_id = %s", [app.pk])
        assert cursor.fetchone()[0] == 0
    actions = set(AuditEvent.objects.filter(target_id=tenant_a.application_id).values_list("action", flat=True))
    assert {"app.create", "app.delete", "app.purge"} <= actions
    # Its Redis keys went with it (version counters; rate windows expire by themselves), but for its
    # version key: it expires once every process's cached record of the app has.
    left = {key.decode() for key in redis_client().scan_iter(match="hangar:*") if _owned_by(key, app)}
    assert left == {f"hangar:appver:{app.application_id}"}
    assert 0 < redis_client().ttl(f"hangar:appver:{app.application_id}") <= 2 * settings.HANGAR_APP_CACHE_SECONDS
    # The other tenant's app is untouched, and purging again is a no-op.
    assert partitions_list(app_pk=tenant_b.app.pk)
    assert redis_client().exists(f"hangar:appver:{tenant_b.application_id}")
    assert app_purge(app_pk=app.pk) is False


def redis_client():
    import redis
    from django.conf import settings

    return redis.Redis.from_url(settings.REDIS_URL)


def _owned_by(key: bytes, app: App) -> bool:
    parts = key.decode().split(":")
    return str(app.pk) in parts or app.application_id in parts


def test_app_delete_needs_the_exact_name(tenant_a: Tenant):
    from tenants.errors import ValidationFailedError

    with pytest.raises(ValidationFailedError):
        app_delete(
            actor=tenant_a.developer, organization=tenant_a.organization, app_pk=tenant_a.app.pk, confirm_name="x"
        )
    assert App.objects.get(pk=tenant_a.app.pk).status == App.Status.ACTIVE


def test_app_create_command_prints_keys_as_json():
    out = io.StringIO()
    call_command("app_create", "--org", "Acme", "--name", "Shop", "--owner", "ops@acme.test", "--json", stdout=out)
    result = json.loads(out.getvalue())
    app = App.objects.get(application_id=result["application_id"])
    assert app.name == "Shop"
    assert app.organization.name == "Acme"
    assert set(result["keys"]) == {"client", "javascript", "rest", "dotnet", "master"}
    assert partitions_list(app_pk=app.pk)
    # A second app for the same owner and org name lands in the same organization.
    out2 = io.StringIO()
    call_command("app_create", "--org", "Acme", "--name", "Blog", "--owner", "OPS@acme.test", "--json", stdout=out2)
    second = App.objects.get(application_id=json.loads(out2.getvalue())["application_id"])
    assert second.organization_id == app.organization_id


def test_deletion_survives_a_broker_outage_and_the_sweep_purges(
    tenant_a: Tenant, django_capture_on_commit_callbacks, monkeypatch
):
    from tenants import tasks

    def broker_down(**kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks.purge_app, "delay", broker_down)
    app = tenant_a.app
    with django_capture_on_commit_callbacks(execute=True):
        app_delete(actor=tenant_a.developer, organization=tenant_a.organization, app_pk=app.pk, confirm_name=app.name)
    assert App.objects.get(pk=app.pk).status == App.Status.DELETING
    assert tasks.purge_deleted_apps() == 1
    assert not App.objects.filter(pk=app.pk).exists()
    assert partitions_list(app_pk=app.pk) == []


def _app_marked_for_deletion_with_data(tenant: Tenant) -> App:
    app = tenant.app
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO datastore_object (app_id, class_name, object_id, data) VALUES (%s, 'Thing', 'abc', '{}')",
            [app.pk],
        )
    files = app_files_dir(app_pk=app.pk)
    files.mkdir(parents=True, exist_ok=True)
    (files / "photo.jpg").write_bytes(b"jpeg")
    App.objects.filter(pk=app.pk).update(status=App.Status.DELETING)
    return app


def test_a_purge_run_twice_purges_once(tenant_a: Tenant, tenant_b: Tenant):
    """A duplicate delivery of the purge task (a redelivery after a lost worker) changes nothing twice."""
    from tenants.tasks import purge_app

    app = _app_marked_for_deletion_with_data(tenant_a)
    assert purge_app(app_pk=app.pk) is True
    assert purge_app(app_pk=app.pk) is False
    assert not App.objects.filter(pk=app.pk).exists()
    assert partitions_list(app_pk=app.pk) == []
    assert not app_files_dir(app_pk=app.pk).exists()
    assert AuditEvent.objects.filter(target_id=tenant_a.application_id, action="app.purge").count() == 1
    assert partitions_list(app_pk=tenant_b.app.pk)


def test_a_purge_cut_short_leaves_the_app_for_the_next_run(tenant_a: Tenant, monkeypatch):
    """A purge that dies after dropping the data but before removing the files keeps the app marked for
    deletion, so the redelivered task or the sweep removes the files too; none are left orphaned."""
    from hangar.files import services as file_services
    from tenants import tasks

    app = _app_marked_for_deletion_with_data(tenant_a)
    original = file_services.app_files_purge

    def storage_down(*, app_pk: int) -> None:
        raise OSError("storage backend unreachable")

    monkeypatch.setattr(file_services, "app_files_purge", storage_down)
    with pytest.raises(OSError):
        tasks.purge_app(app_pk=app.pk)
    assert App.objects.get(pk=app.pk).status == App.Status.DELETING
    assert partitions_list(app_pk=app.pk) == []
    assert app_files_dir(app_pk=app.pk).exists()
    monkeypatch.setattr(file_services, "app_files_purge", original)
    assert tasks.purge_deleted_apps() == 1
    assert not App.objects.filter(pk=app.pk).exists()
    assert not app_files_dir(app_pk=app.pk).exists()
