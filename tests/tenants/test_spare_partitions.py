"""Partitions made ahead (HANGAR_SPARE_APP_PARTITIONS): app creation claims them, and the app works as any other."""

from __future__ import annotations

import httpx
import pytest
from django.db import connection

from hangar.datastore.models import SparePartition
from hangar.datastore.partitions import partitions_drop, partitions_exist, partitions_list
from tenants.models import App, Developer, Organization
from tenants.services import app_create, app_delete, app_purge
from tenants.services.apps import app_spare_partitions_fill
from tests.conftest import Tenant, make_tenant


@pytest.fixture
def pool_of_three(settings) -> list[int]:
    settings.HANGAR_SPARE_APP_PARTITIONS = 3
    assert app_spare_partitions_fill() == 3
    return sorted(SparePartition.objects.values_list("app_pk", flat=True))


def _owner(label: str) -> tuple[Developer, Organization]:
    tenant = make_tenant(label)
    return tenant.developer, tenant.organization


@pytest.mark.django_db
def test_a_fill_makes_attached_partitions_for_reserved_ids_and_stops_at_the_target(pool_of_three):
    for app_pk in pool_of_three:
        assert partitions_exist(app_pk=app_pk)
        assert not App.objects.filter(pk=app_pk).exists()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_inherits WHERE inhrelid = %s::regclass",
                [f"datastore_object_app{app_pk}"],
            )
            assert cursor.fetchone()[0] == 1  # attached to datastore_object
    assert app_spare_partitions_fill() == 0


@pytest.mark.django_db
def test_a_new_app_takes_the_oldest_spare_and_its_partitions(pool_of_three):
    developer, organization = _owner("carol")  # its first app claimed the first spare
    first = App.objects.get(organization=organization)
    assert first.pk == pool_of_three[0]
    app, _ = app_create(actor=developer, organization=organization, name="second")
    assert app.pk == pool_of_three[1]
    assert partitions_list(app_pk=app.pk) == [f"datastore_object_app{app.pk}", f"datastore_relation_app{app.pk}"]
    assert list(SparePartition.objects.values_list("app_pk", flat=True)) == [pool_of_three[2]]
    assert app.schema_classes.filter(class_name="_User").exists()


@pytest.mark.django_db
def test_a_creation_that_fails_leaves_its_spare_in_the_pool(pool_of_three, monkeypatch):
    developer, organization = _owner("dave")

    def broken(**kwargs):
        raise RuntimeError("audit store down")

    monkeypatch.setattr("tenants.services.apps.audit_record", broken)
    with pytest.raises(RuntimeError):
        app_create(actor=developer, organization=organization, name="doomed")
    assert sorted(SparePartition.objects.values_list("app_pk", flat=True)) == pool_of_three[1:]
    assert not App.objects.filter(name="doomed").exists()


@pytest.mark.django_db
def test_a_spare_whose_partitions_were_dropped_is_made_again(pool_of_three):
    partitions_drop(app_pk=pool_of_three[0])
    tenant = make_tenant("erin")
    assert tenant.app.pk == pool_of_three[0]
    assert partitions_exist(app_pk=tenant.app.pk)


@pytest.mark.django_db
def test_with_the_pool_empty_the_app_makes_its_partitions_and_a_refill_follows(
    settings, django_capture_on_commit_callbacks
):
    settings.HANGAR_SPARE_APP_PARTITIONS = 2
    with django_capture_on_commit_callbacks(execute=True):
        tenant = make_tenant("frank")
    assert partitions_exist(app_pk=tenant.app.pk)
    spares = list(SparePartition.objects.values_list("app_pk", flat=True))
    assert len(spares) == 2
    assert tenant.app.pk not in spares


@pytest.mark.django_db
def test_the_pool_off_claims_nothing(settings):
    settings.HANGAR_SPARE_APP_PARTITIONS = 0
    tenant = make_tenant("gina")
    assert partitions_exist(app_pk=tenant.app.pk)
    assert not SparePartition.objects.exists()


@pytest.mark.django_db(transaction=True)
async def test_an_app_on_a_spare_serves_its_data_to_itself_only(settings, parse_client: httpx.AsyncClient):
    """End to end through the Parse API: its own keys write and read; another app, an end user of another app
    and an anonymous client see nothing of it; its deletion drops the spare's partitions."""
    from asgiref.sync import sync_to_async

    settings.HANGAR_SPARE_APP_PARTITIONS = 2
    await sync_to_async(app_spare_partitions_fill)()
    spares = await sync_to_async(lambda: sorted(SparePartition.objects.values_list("app_pk", flat=True)))()
    owner: Tenant = await sync_to_async(make_tenant)("hank")
    other: Tenant = await sync_to_async(make_tenant)("iris")
    assert [owner.app.pk, other.app.pk] == spares

    created = await parse_client.post(
        "/parse/classes/Note", json={"text": "mine"}, headers=owner.parse_headers("master")
    )
    assert created.status_code == 201, created.text
    object_id = created.json()["objectId"]
    mine = await parse_client.get(f"/parse/classes/Note/{object_id}", headers=owner.parse_headers())
    assert mine.status_code == 200
    assert mine.json()["text"] == "mine"

    theirs = await parse_client.get(f"/parse/classes/Note/{object_id}", headers=other.parse_headers("master"))
    assert theirs.status_code == 404
    assert theirs.json()["code"] == 101
    signed_up = await parse_client.post(
        "/parse/users", json={"username": "mallory", "password": "pw-123456"}, headers=other.parse_headers()
    )
    assert signed_up.status_code == 201
    as_their_user = await parse_client.get(
        f"/parse/classes/Note/{object_id}",
        headers={**other.parse_headers(), "X-Parse-Session-Token": signed_up.json()["sessionToken"]},
    )
    assert as_their_user.status_code in (400, 404)
    assert "mine" not in as_their_user.text
    anonymous = await parse_client.get(
        f"/parse/classes/Note/{object_id}", headers={"X-Parse-Application-Id": owner.application_id}
    )
    assert anonymous.status_code in (401, 403)

    await sync_to_async(app_delete)(
        actor=owner.developer, organization=owner.organization, app_pk=owner.app.pk, confirm_name=owner.app.name
    )
    await sync_to_async(app_purge)(app_pk=owner.app.pk)
    assert await sync_to_async(partitions_list)(app_pk=owner.app.pk) == []


@pytest.mark.django_db
def test_only_the_claim_that_leaves_the_pool_half_empty_queues_a_refill(
    pool_of_three, django_capture_on_commit_callbacks
):
    from tenants.services.apps import _schedule_spares_fill

    developer, organization = _owner("jane")  # leaves 2 of 3: no refill
    queued = []
    for name in ("second", "third"):  # leave 1 (below half: refill), then 0 (refill already queued)
        with django_capture_on_commit_callbacks() as callbacks:
            app_create(actor=developer, organization=organization, name=name)
        queued.append(sum(1 for callback in callbacks if callback is _schedule_spares_fill))
    assert queued == [1, 0]
    with django_capture_on_commit_callbacks() as callbacks:  # the pool is empty: every creation asks
        app_create(actor=developer, organization=organization, name="fourth")
    assert sum(1 for callback in callbacks if callback is _schedule_spares_fill) == 1
