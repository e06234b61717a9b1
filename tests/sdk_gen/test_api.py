"""The management API and operator command of SDKs: offer, download, cache by schema hash, changelog, isolation."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from hangar.datastore.models import SchemaClass
from sdk_gen.models import SdkPackage, SdkSnapshot
from tests.conftest import Tenant

pytestmark = pytest.mark.django_db


def _client(tenant: Tenant) -> APIClient:
    client = APIClient()
    client.force_authenticate(tenant.developer)
    return client


def _base(tenant: Tenant) -> str:
    return f"/api/v1/organizations/{tenant.organization.pk}/apps/{tenant.app.pk}/sdks"


def _add_class(tenant: Tenant, name: str, fields: dict[str, dict[str, str]]) -> None:
    SchemaClass.objects.create(app=tenant.app, class_name=name, fields=fields)


def test_overview_lists_languages_and_downloads_are_cached_by_schema_hash(tenant_a: Tenant):
    _add_class(tenant_a, "Post", {"title": {"type": "String"}, "votes": {"type": "Number"}})
    client = _client(tenant_a)
    overview = client.get(_base(tenant_a)).json()
    assert overview["version"] == "1.1.0"
    assert [entry["language"] for entry in overview["languages"]] == ["python", "typescript", "java", "openapi"]
    assert overview["application_id"] == tenant_a.application_id
    wheel = client.get(f"{_base(tenant_a)}/python")
    assert wheel.status_code == 200
    assert wheel["Content-Disposition"] == 'attachment; filename="alice_app_sdk-1.1.0-py3-none-any.whl"'
    with zipfile.ZipFile(io.BytesIO(wheel.content)) as archive:
        assert "class Post(ParseObject):" in archive.read("alice_app_sdk/models.py").decode()
        assert "Version: 1.1.0" in archive.read("alice_app_sdk-1.1.0.dist-info/METADATA").decode()
    again = client.get(f"{_base(tenant_a)}/python")
    assert again.content == wheel.content
    assert SdkPackage.objects.filter(snapshot__app=tenant_a.app, language="python").count() == 1


def test_a_schema_change_makes_a_new_version_with_a_changelog(tenant_a: Tenant):
    _add_class(tenant_a, "Post", {"title": {"type": "String"}})
    client = _client(tenant_a)
    first = client.get(_base(tenant_a)).json()
    SchemaClass.objects.filter(app=tenant_a.app, class_name="Post").update(
        fields={"title": {"type": "String"}, "author": {"type": "Pointer", "targetClass": "_User"}}
    )
    _add_class(tenant_a, "Comment", {"body": {"type": "String"}})
    second = client.get(_base(tenant_a)).json()
    assert (first["version"], second["version"]) == ("1.1.0", "1.2.0")
    assert second["schema_hash"] != first["schema_hash"]
    assert second["changelog"][0]["changes"] == ["class Comment added", "Post.author added (Pointer<_User>)"]
    assert second["changelog"][1]["changes"] == ["first version"]
    document = json.loads(client.get(f"{_base(tenant_a)}/openapi").content)
    assert document["info"]["version"] == "1.2.0"
    assert "Comment" in document["components"]["schemas"]


def test_unknown_language_is_a_clear_400(tenant_a: Tenant):
    response = _client(tenant_a).get(f"{_base(tenant_a)}/cobol")
    assert response.status_code == 400
    assert "Unknown SDK language 'cobol'" in json.dumps(response.json())


def test_another_organizations_app_is_not_found(tenant_a: Tenant, tenant_b: Tenant):
    """Bob cannot see or download Alice's SDKs, nor reach them through his own organization's URL."""
    _add_class(tenant_a, "Secret", {"salary": {"type": "Number"}})
    bob = _client(tenant_b)
    assert bob.get(_base(tenant_a)).status_code == 404
    assert bob.get(f"{_base(tenant_a)}/python").status_code == 404
    through_own_org = f"/api/v1/organizations/{tenant_b.organization.pk}/apps/{tenant_a.app.pk}/sdks/openapi"
    assert bob.get(through_own_org).status_code == 404
    assert not SdkSnapshot.objects.filter(app=tenant_a.app).exists()


def test_anonymous_callers_get_nothing(tenant_a: Tenant):
    response = APIClient().get(f"{_base(tenant_a)}/python")
    assert response.status_code in {401, 403}
    assert not SdkSnapshot.objects.filter(app=tenant_a.app).exists()


def test_sdk_of_one_app_holds_none_of_another_apps_classes(tenant_a: Tenant, tenant_b: Tenant):
    _add_class(tenant_a, "AliceOnly", {"x": {"type": "String"}})
    _add_class(tenant_b, "BobOnly", {"y": {"type": "String"}})
    text = _client(tenant_b).get(f"{_base(tenant_b)}/openapi").content.decode()
    assert "BobOnly" in text
    assert "AliceOnly" not in text
    assert tenant_a.application_id not in text


def test_operator_command_writes_each_language(tenant_a: Tenant, tmp_path):
    _add_class(tenant_a, "Post", {"title": {"type": "String"}})
    for language, marker in (
        ("python", "alice_app_sdk/models.py"),
        ("typescript", "src/index.ts"),
        ("java", "src/main/java/dev/hangar/sdk/alice_app/Post.java"),
        ("openapi", "openapi.json"),
    ):
        out = io.StringIO()
        call_command("sdk_generate", app=tenant_a.application_id, lang=language, out=str(tmp_path / language),
                     stdout=out)  # fmt: skip
        assert (tmp_path / language / marker).exists(), language
        assert "1.1.0" in out.getvalue()
    with pytest.raises(CommandError, match="no active app"):
        call_command("sdk_generate", app="no-such-app", lang="python", out=str(tmp_path / "x"))
