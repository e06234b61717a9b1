"""The app's cloud-code page: versions, rollback, variables (secrets masked) and the run form, by role."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.urls import reverse

from hangar.cloudcode.models import CloudVariable
from tests.conftest import Tenant
from tests.dashboard.conftest import AddMember, logged_in

pytestmark = pytest.mark.django_db(transaction=True)

MAIN = (
    b'from hangar_cloud import define\n\n@define("hello")\n'
    b'def hello(request):\n    return "hi " + str(request.params.get("name"))\n'
)


def _zip(main: bytes) -> io.BytesIO:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("main.py", main)
    out.seek(0)
    out.name = "bundle.zip"
    return out


def _url(tenant: Tenant, name: str, *extra: object) -> str:
    return reverse(f"dashboard:{name}", args=[tenant.organization.pk, tenant.app.pk, *extra])


def test_owner_uploads_rolls_back_sets_a_secret_and_runs(tenant_a: Tenant):
    client = logged_in(tenant_a.developer)
    assert "Cloud code" in client.get(_url(tenant_a, "app_settings")).content.decode()
    client.post(_url(tenant_a, "cloud_code_upload"), {"bundle": _zip(MAIN)})
    client.post(_url(tenant_a, "cloud_code_upload"), {"bundle": _zip(MAIN.replace(b"hi ", b"hello "))})
    page = client.get(_url(tenant_a, "cloud_code")).content.decode()
    assert "hello()" in page
    assert "Roll back" in page
    client.post(_url(tenant_a, "cloud_code_activate", 1))
    ran = client.post(_url(tenant_a, "cloud_function_run"), {"name": "hello", "params": '{"name": "Ada"}'})
    assert "hi Ada" in ran.content.decode()
    bad = client.post(_url(tenant_a, "cloud_function_run"), {"name": "hello", "params": "[1"})
    assert "Params must be a JSON object" in bad.content.decode()

    client.post(_url(tenant_a, "cloud_variable_set"), {"name": "TOKEN", "value": "hidden-value", "secret": "on"})
    assert CloudVariable.objects.filter(app=tenant_a.app, name="TOKEN", is_secret=True).exists()
    page = client.get(_url(tenant_a, "cloud_code")).content.decode()
    assert "TOKEN" in page
    assert "hidden-value" not in page

    refused = client.post(_url(tenant_a, "cloud_code_upload"), {"bundle": _zip(b"def broken(:\n")}, follow=True)
    assert "main.py:1" in refused.content.decode()


def test_viewer_sees_the_page_without_write_controls(tenant_a: Tenant, add_member: AddMember):
    viewer = add_member(tenant_a, "vera", "viewer").developer
    client = logged_in(viewer)
    page = client.get(_url(tenant_a, "cloud_code"))
    assert page.status_code == 200
    assert "cloud-run-form" not in page.content.decode()
    assert client.post(_url(tenant_a, "cloud_code_upload"), {"bundle": _zip(MAIN)}).status_code == 403
    assert client.post(_url(tenant_a, "cloud_variable_set"), {"name": "X", "value": "1"}).status_code == 403
