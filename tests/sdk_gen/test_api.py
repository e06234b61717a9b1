"""The management API and operator command of SDKs: offer, download, cache by schema hash, changelog, isolation."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from hangar.datastore.models import SchemaClass
from sdk_gen import services
from sdk_gen.compilers import CompileError
from sdk_gen.models import SdkPackage, SdkSnapshot
from sdk_gen.tasks import packages_build
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


def _run_queued(callbacks: list[Callable[[], object]]) -> None:
    for callback in callbacks:
        callback()  # the Celery task, eager as in the test settings


def test_a_compiled_package_is_building_until_the_task_has_stored_it(
    tenant_a: Tenant, django_capture_on_commit_callbacks: Any
):
    """No compiler runs inside the request: the first download of the jar answers 202 with Retry-After, queues
    one task however often it is asked, and the jar is answered once the task ran."""
    _add_class(tenant_a, "Post", {"title": {"type": "String"}})
    client = _client(tenant_a)
    with django_capture_on_commit_callbacks() as queued:
        first = client.get(f"{_base(tenant_a)}/java")
        second = client.get(f"{_base(tenant_a)}/java")
        overview = client.get(_base(tenant_a)).json()
    for answer in (first, second):
        assert answer.status_code == 202
        assert answer["Retry-After"] == "2"
        assert answer.json() == {"status": "building", "language": "java", "version": "1.1.0",
                                 "schema_hash": overview["schema_hash"], "retry_after": 2, "error": ""}  # fmt: skip
    statuses = {entry["language"]: entry["status"] for entry in overview["languages"]}
    assert statuses == {"python": "on request", "typescript": "building", "java": "building", "openapi": "on request"}
    assert len(queued) == 1
    assert not SdkPackage.objects.filter(snapshot__app=tenant_a.app).exists()
    _run_queued(queued)
    # One task built every package of the snapshot, the TypeScript one included.
    assert set(SdkPackage.objects.filter(snapshot__app=tenant_a.app).values_list("language", flat=True)) == {
        "python",
        "typescript",
        "java",
        "openapi",
    }
    jar = client.get(f"{_base(tenant_a)}/java")
    assert jar.status_code == 200
    with zipfile.ZipFile(io.BytesIO(jar.content)) as archive:
        assert "dev/hangar/sdk/alice_app/Post.class" in archive.namelist()
    statuses = {entry["language"]: entry["status"] for entry in client.get(_base(tenant_a)).json()["languages"]}
    assert set(statuses.values()) == {"ready"}


def test_python_and_openapi_need_no_compiler_and_are_answered_at_once(
    tenant_a: Tenant, django_capture_on_commit_callbacks: Any
):
    _add_class(tenant_a, "Post", {"title": {"type": "String"}})
    with django_capture_on_commit_callbacks() as queued:
        for language in ("python", "openapi"):
            assert _client(tenant_a).get(f"{_base(tenant_a)}/{language}").status_code == 200
    assert queued == []


def test_a_failed_build_is_told_and_retried_a_minute_later(
    tenant_a: Tenant, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
):
    _add_class(tenant_a, "Post", {"title": {"type": "String"}})
    client = _client(tenant_a)

    def broken_compiler(*args: object, **kwargs: object) -> None:
        raise CompileError("the generated Java did not compile: Post.java:1: error")

    monkeypatch.setattr(services, "packages_for", broken_compiler)
    with django_capture_on_commit_callbacks() as queued:
        assert client.get(f"{_base(tenant_a)}/java").status_code == 202
    _run_queued(queued)
    with django_capture_on_commit_callbacks() as queued_again:
        failed = client.get(f"{_base(tenant_a)}/java")
    assert failed.status_code == 503
    assert failed.json()["status"] == "failed"
    assert "Post.java:1: error" in failed.json()["error"]
    assert 1 <= int(failed["Retry-After"]) <= 60
    assert queued_again == []  # no new compilation on every poll
    monkeypatch.undo()
    SdkSnapshot.objects.filter(app=tenant_a.app).update(build_failed_at=timezone.now() - timedelta(seconds=61))
    with django_capture_on_commit_callbacks() as retried:
        assert client.get(f"{_base(tenant_a)}/java").status_code == 202
    _run_queued(retried)
    assert client.get(f"{_base(tenant_a)}/java").status_code == 200


def test_a_task_for_a_schema_the_app_moved_past_builds_nothing(
    tenant_a: Tenant, django_capture_on_commit_callbacks: Any
):
    _add_class(tenant_a, "Post", {"title": {"type": "String"}})
    with django_capture_on_commit_callbacks() as queued:
        _client(tenant_a).get(f"{_base(tenant_a)}/typescript")
    _add_class(tenant_a, "Comment", {"body": {"type": "String"}})
    _run_queued(queued)
    assert not SdkPackage.objects.filter(snapshot__app=tenant_a.app).exists()
    old = SdkSnapshot.objects.get(app=tenant_a.app)
    assert packages_build(snapshot_id=old.pk) == []  # run again (a duplicate delivery): still nothing
    assert packages_build(snapshot_id=10**9) == []  # a snapshot deleted with its app


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
    assert bob.get(f"{_base(tenant_a)}/java").status_code == 404  # nor queue a compilation of Alice's schema
    through_own_org = f"/api/v1/organizations/{tenant_b.organization.pk}/apps/{tenant_a.app.pk}/sdks/openapi"
    assert bob.get(through_own_org).status_code == 404
    assert not SdkSnapshot.objects.filter(app=tenant_a.app).exists()


def test_anonymous_callers_get_nothing(tenant_a: Tenant):
    response = APIClient().get(f"{_base(tenant_a)}/python")
    assert response.status_code in {401, 403}
    assert not SdkSnapshot.objects.filter(app=tenant_a.app).exists()


def test_the_apps_own_keys_cannot_start_a_build(tenant_a: Tenant):
    """An end user's client holds the app's keys, not a developer's token: no build, no snapshot."""
    for kind in ("client", "master"):
        response = APIClient().get(f"{_base(tenant_a)}/java", headers=tenant_a.parse_headers(kind))
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
