"""The dashboard's SDKs page: language tabs, install line, download and changelog; any member may use it."""

from __future__ import annotations

import io
import tarfile
from typing import Any

import pytest
from django.urls import reverse

from hangar.datastore.models import SchemaClass
from sdk_gen.models import SdkPackage
from tests.conftest import Tenant
from tests.dashboard.conftest import AddMember, logged_in

pytestmark = pytest.mark.django_db


def _url(tenant: Tenant, name: str, *extra: object) -> str:
    return reverse(f"dashboard:{name}", args=[tenant.organization.pk, tenant.app.pk, *extra])


def test_page_offers_each_language_with_its_install_line_and_changelog(tenant_a: Tenant):
    SchemaClass.objects.create(app=tenant_a.app, class_name="Post", fields={"title": {"type": "String"}})
    client = logged_in(tenant_a.developer)
    page = client.get(_url(tenant_a, "sdks")).content.decode()
    for label in ("Python", "TypeScript", "Java (Android)", "OpenAPI 3.1"):
        assert label in page
    assert "pip install ./alice_app_sdk-1.1.0-py3-none-any.whl" in page
    assert "first version" in page
    typescript = client.get(_url(tenant_a, "sdks") + "?lang=typescript").content.decode()
    assert "npm install ./alice-app-sdk-1.1.0.tgz" in typescript
    SchemaClass.objects.filter(app=tenant_a.app, class_name="Post").update(
        fields={"title": {"type": "String"}, "likes": {"type": "Number"}}
    )
    updated = client.get(_url(tenant_a, "sdks")).content.decode()
    assert "1.2.0" in updated
    assert "Post.likes added (Number)" in updated


def test_a_compiled_package_is_built_off_the_request_then_downloaded(
    tenant_a: Tenant, django_capture_on_commit_callbacks: Any
):
    """The first download of the TypeScript package does not compile in the request: it sends the developer to
    the page saying it is compiling (which polls), and the package is there once the task has run."""
    client = logged_in(tenant_a.developer)
    with django_capture_on_commit_callbacks() as queued:
        first = client.get(_url(tenant_a, "sdk_download", "typescript"))
        page = client.get(first["Location"]).content.decode()
    assert first.status_code == 302
    assert first["Location"] == _url(tenant_a, "sdks") + "?lang=typescript"
    assert not SdkPackage.objects.filter(snapshot__app=tenant_a.app, language="typescript").exists()
    assert "Compiling alice-app-sdk-1.1.0.tgz" in page
    assert 'hx-trigger="every 2s"' in page
    assert len(queued) == 1  # one build queued, however often the page is asked for
    for callback in queued:
        callback()  # the Celery task, run eagerly as the test settings do
    ready = client.get(_url(tenant_a, "sdks") + "?lang=typescript").content.decode()
    assert "Download alice-app-sdk-1.1.0.tgz" in ready
    assert "hx-trigger" not in ready
    response = client.get(_url(tenant_a, "sdk_download", "typescript"))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="alice-app-sdk-1.1.0.tgz"'
    with tarfile.open(fileobj=io.BytesIO(response.content), mode="r:gz") as archive:
        assert "package/dist/index.d.ts" in archive.getnames()


def test_viewer_may_download_and_unknown_language_is_404(tenant_a: Tenant, add_member: AddMember):
    viewer = add_member(tenant_a, "vera", "viewer")
    client = logged_in(viewer.developer)
    assert client.get(_url(tenant_a, "sdk_download", "python")).status_code == 200
    assert client.get(_url(tenant_a, "sdk_download", "cobol")).status_code == 404
