"""The app settings page shows the app's file storage usage (bytes and file count), to its members only."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from asgiref.sync import sync_to_async
from django.http import HttpResponse
from django.urls import reverse

from hangar.caller import Caller
from hangar.files.services import file_upload
from tenants.models import Developer
from tests.conftest import Tenant
from tests.dashboard.conftest import logged_in

# The files service writes through the data plane's own connections: the rows must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


def settings_url(tenant: Tenant) -> str:
    return reverse("dashboard:app_settings", args=[tenant.organization.pk, tenant.app.pk])


async def upload(tenant: Tenant, name: str, data: bytes) -> None:
    """Through the files service, as the master key would (on the session's event loop, like the API)."""

    async def chunks() -> AsyncIterator[bytes]:
        yield data

    caller = Caller(app_pk=tenant.app.pk, is_master=True)
    await file_upload(caller=caller, filename=name, content_type="text/plain", chunks=chunks())


async def get(developer: Developer, url: str) -> HttpResponse:
    return await sync_to_async(lambda: logged_in(developer).get(url))()


def storage_card(page: str) -> str:
    match = re.search(r'<section class="card" aria-labelledby="storage-title">.*?</section>', page, re.S)
    assert match, "no storage card on the page"
    return match.group(0)


async def test_a_new_app_shows_no_storage(tenant_a: Tenant) -> None:
    card = storage_card((await get(tenant_a.developer, settings_url(tenant_a))).content.decode())

    assert 'data-bytes="0"' in card
    assert '<dd id="storage-files">0</dd>' in card


async def test_the_settings_page_shows_the_bytes_and_files_the_app_stores(tenant_a: Tenant) -> None:
    await upload(tenant_a, "one.txt", b"x" * 1024)
    await upload(tenant_a, "two.txt", b"y" * 512)

    response = await get(tenant_a.developer, settings_url(tenant_a))

    assert response.status_code == 200
    card = storage_card(response.content.decode())
    assert "1.5\xa0KB" in card  # human-readable
    assert "(1536 bytes)" in card
    assert 'data-bytes="1536"' in card
    assert '<dd id="storage-files">2</dd>' in card


async def test_another_organizations_member_gets_404_not_the_usage(tenant_a: Tenant, tenant_b: Tenant) -> None:
    await upload(tenant_a, "secret.txt", b"z" * 777)

    response = await get(tenant_b.developer, settings_url(tenant_a))
    # Nor by putting Alice's app under Bob's own organization.
    planted = await get(
        tenant_b.developer, reverse("dashboard:app_settings", args=[tenant_b.organization.pk, tenant_a.app.pk])
    )

    for page in (response, planted):
        assert page.status_code == 404
        body = page.content.decode()
        assert "storage-title" not in body
        assert "777" not in body
