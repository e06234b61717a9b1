"""The Files page: files uploaded through the Parse API are listed with their size and usage; delete; roles."""

from __future__ import annotations

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.test import Client
from django.urls import reverse

from hangar.files.models import StoredFile
from tests.conftest import Tenant
from tests.dashboard.conftest import AddMember, logged_in

pytestmark = pytest.mark.django_db(transaction=True)


def url(tenant: Tenant, name: str) -> str:
    return reverse(f"dashboard:{name}", args=[tenant.organization.pk, tenant.app.pk])


async def upload(parse_client: httpx.AsyncClient, tenant: Tenant, name: str, data: bytes, content_type: str) -> str:
    headers = {**tenant.parse_headers("master"), "Content-Type": content_type}
    response = await parse_client.post(f"/parse/files/{name}", content=data, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["name"])


async def test_files_are_listed_and_deleted_through_the_files_service(
    parse_client: httpx.AsyncClient, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    photo = await upload(parse_client, tenant_a, "cat.png", b"\x89PNG fake", "image/png")
    notes = await upload(parse_client, tenant_a, "notes.txt", b"hello world", "text/plain")
    bobs = await upload(parse_client, tenant_b, "bobs-secret.txt", b"bob", "text/plain")
    alice = Client()
    await sync_to_async(alice.force_login)(tenant_a.developer)

    page = (await sync_to_async(alice.get)(url(tenant_a, "files"))).content.decode()
    assert photo in page
    assert notes in page
    assert bobs not in page
    assert "<img" in page, "images are previewed"
    assert "2 files" in page

    await sync_to_async(alice.post)(url(tenant_a, "file_remove"), {"name": notes})
    assert not await StoredFile.objects.filter(app=tenant_a.app, name=notes).aexists()
    gone = await parse_client.get(f"/parse/files/{tenant_a.application_id}/{notes}")
    assert gone.status_code == 404
    refused = await sync_to_async(alice.post)(url(tenant_a, "file_remove"), {"name": bobs}, follow=True)
    assert "Parse error" in refused.content.decode()
    assert await StoredFile.objects.filter(app=tenant_b.app, name=bobs).aexists(), "another app's file stays"


async def test_a_viewer_sees_files_but_cannot_delete(
    parse_client: httpx.AsyncClient, tenant_a: Tenant, add_member: AddMember
) -> None:
    notes = await upload(parse_client, tenant_a, "notes.txt", b"hello", "text/plain")
    membership = await sync_to_async(add_member)(tenant_a, "vera", "viewer")
    viewer = await sync_to_async(logged_in)(membership.developer)

    page = (await sync_to_async(viewer.get)(url(tenant_a, "files"))).content.decode()
    assert notes in page
    assert "Delete" not in page
    response = await sync_to_async(viewer.post)(url(tenant_a, "file_remove"), {"name": notes})
    assert response.status_code == 403
    assert await StoredFile.objects.filter(app=tenant_a.app, name=notes).aexists()
