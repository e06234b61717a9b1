"""Anyone can sign up: the default plan's storage is finite, so no signed-up user can fill the shared disk."""

from __future__ import annotations

import importlib

import pytest
from asgiref.sync import sync_to_async
from django.apps import apps as django_apps

from tenants.models import Plan
from tests.files.conftest import FileApp

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_default_plan_has_a_finite_quota(tenant_a, settings):
    plan = tenant_a.organization.plan
    assert plan.name == "free"
    assert plan.storage_quota_bytes == settings.HANGAR_FILES_DEFAULT_QUOTA_BYTES > 0


def test_the_migration_gives_an_unlimited_free_plan_the_default_quota(tenant_a, settings):
    Plan.objects.filter(name="free").update(storage_quota_bytes=0)
    Plan.objects.create(name="custom-unlimited", requests_per_second=0, storage_quota_bytes=0)
    migration = importlib.import_module("tenants.migrations.0003_gw_free_plan_storage_quota")
    migration._finite_quota(django_apps, None)
    assert Plan.objects.get(name="free").storage_quota_bytes == settings.HANGAR_FILES_DEFAULT_QUOTA_BYTES
    assert Plan.objects.get(name="custom-unlimited").storage_quota_bytes == 0  # an operator's choice stays


async def test_uploads_stop_at_the_default_quota(files_a: FileApp, settings):
    """On the default plan (and without a plan), HANGAR_FILES_DEFAULT_QUOTA_BYTES bounds an app's files."""

    def shrink_default_plan() -> None:
        plan = Plan.objects.get(name="free")
        plan.storage_quota_bytes = 10
        plan.save()  # as the admin does: every process sees the new limit at its next request

    await sync_to_async(shrink_default_plan)()
    assert (await files_a.upload("a.txt", b"x" * 8)).status_code == 201
    over = await files_a.upload("b.txt", b"x" * 5)
    assert (over.status_code, over.json()["code"]) == (400, 130)

    settings.HANGAR_FILES_DEFAULT_QUOTA_BYTES = 9

    def no_plan() -> None:
        files_a.tenant.organization.plan = None
        files_a.tenant.organization.save(update_fields=["plan"])

    await sync_to_async(no_plan)()
    assert (await files_a.upload("c.txt", b"x" * 2)).json()["code"] == 130
