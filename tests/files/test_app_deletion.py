"""Deleting an app deletes its files on every backend, and only its own."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings

from hangar.app_files import app_files_dir
from tenants.services import app_delete
from tests.files.conftest import FileApp, s3_keys

pytestmark = pytest.mark.django_db(transaction=True)


async def test_app_deletion_removes_its_files(
    request: pytest.FixtureRequest, files_a: FileApp, files_b: FileApp, backend: str
):
    await files_a.upload("a.txt", b"of a")
    kept = (await files_b.upload("b.txt", b"of b")).json()["name"]
    app_a = files_a.tenant.app
    if backend == "s3":
        moto = request.getfixturevalue("moto_server")
        prefix = f"{settings.HANGAR_FILES_S3_PREFIX}/app{app_a.pk}/"
        assert len(s3_keys(moto, prefix)) == 1
    else:
        assert any(app_files_dir(app_pk=app_a.pk).iterdir())
    await sync_to_async(app_delete)(
        actor=files_a.tenant.developer, organization=files_a.tenant.organization, app_pk=app_a.pk,
        confirm_name=app_a.name,
    )  # fmt: skip
    assert not app_files_dir(app_pk=app_a.pk).exists()
    if backend == "s3":
        assert s3_keys(moto, prefix) == []
    assert (await files_b.download(kept)).content == b"of b"
