"""Apps and their keys: create, read, rename, delete (with the purge), reveal and rotate keys."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from hangar.datastore.models import SchemaClass
from hangar.datastore.partitions import partitions_list
from hangar.secretbox import decrypt_secret
from tenants.models import App, AppKey, AuditEvent, Plan
from tests.conftest import Tenant
from tests.tenants.conftest import Caller, app_url, org_url

pytestmark = pytest.mark.django_db

KINDS = ["client", "javascript", "rest", "dotnet", "master"]


def stored_key(app_pk: int, kind: str) -> str:
    return decrypt_secret(AppKey.objects.get(app_id=app_pk, kind=kind).ciphertext)


def test_list_shows_the_organizations_active_apps(alice: APIClient, tenant_a: Tenant):
    body = alice.get(org_url(tenant_a, "/apps")).json()
    assert body == [
        {
            "id": tenant_a.app.pk,
            "organization_id": tenant_a.organization.pk,
            "name": "alice-app",
            "application_id": tenant_a.application_id,
            "status": "active",
            "rate_limit_rps": None,
            "live_query_classes": [],
            "allow_client_class_creation": False,
            "created_at": body[0]["created_at"],
        }
    ]


def test_an_owner_creates_an_app_and_sees_every_key_once(alice: APIClient, tenant_a: Tenant):
    response = alice.post(org_url(tenant_a, "/apps"), {"name": "Shop"}, format="json")
    assert response.status_code == 201
    body = response.json()
    app = App.objects.get(pk=body["id"])
    assert (body["name"], body["status"], app.organization) == ("Shop", "active", tenant_a.organization)
    assert body["keys"]["application_id"] == app.application_id == body["application_id"]
    for kind in KINDS:
        assert body["keys"][kind] == stored_key(app.pk, kind)
    assert partitions_list(app_pk=app.pk)
    assert AuditEvent.objects.filter(action="app.create", target_id=app.application_id).exists()


def test_a_developer_creates_an_app_without_seeing_the_master_key(member_of: Callable[[str], Caller], tenant_a: Tenant):
    developer = member_of("developer")
    body = developer.client.post(org_url(tenant_a, "/apps"), {"name": "Dev app"}, format="json").json()
    assert body["keys"]["master"] is None
    assert body["keys"]["rest"] == stored_key(body["id"], "rest")


def test_a_viewer_cannot_create_apps(member_of: Callable[[str], Caller], tenant_a: Tenant):
    viewer = member_of("viewer")
    response = viewer.client.post(org_url(tenant_a, "/apps"), {"name": "Nope"}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert not App.objects.filter(name="Nope").exists()


def test_the_plan_limits_the_number_of_apps(alice: APIClient, tenant_a: Tenant):
    Plan.objects.filter(pk=tenant_a.organization.plan_id).update(max_apps=1)
    response = alice.post(org_url(tenant_a, "/apps"), {"name": "Second"}, format="json")
    assert response.status_code == 403
    assert response.json() == {"code": "plan_limit", "detail": "The free plan allows 1 apps per organization."}


def test_get_and_rename_an_app(member_of: Callable[[str], Caller], tenant_a: Tenant):
    developer = member_of("developer")
    assert developer.client.get(app_url(tenant_a)).json()["application_id"] == tenant_a.application_id
    response = developer.client.patch(app_url(tenant_a), {"name": "Renamed"}, format="json")
    assert (response.status_code, response.json()["name"]) == (200, "Renamed")
    tenant_a.app.refresh_from_db()
    assert tenant_a.app.name == "Renamed"


def test_a_viewer_cannot_rename_an_app(member_of: Callable[[str], Caller], tenant_a: Tenant):
    response = member_of("viewer").client.patch(app_url(tenant_a), {"name": "Renamed"}, format="json")
    assert response.status_code == 403
    tenant_a.app.refresh_from_db()
    assert tenant_a.app.name == "alice-app"


def test_set_the_live_query_classes(member_of: Callable[[str], Caller], tenant_a: Tenant, bob: APIClient):
    url = app_url(tenant_a, "/live-query")
    developer = member_of("developer")
    response = developer.client.put(url, {"live_query_classes": ["Game", "Chat", "Game"]}, format="json")
    assert (response.status_code, response.json()["live_query_classes"]) == (200, ["Chat", "Game"])
    assert developer.client.put(url, {"live_query_classes": ["no such!"]}, format="json").status_code == 400
    assert member_of("viewer").client.put(url, {"live_query_classes": []}, format="json").status_code == 403
    assert bob.put(url, {"live_query_classes": []}, format="json").status_code == 404  # another organization's app
    tenant_a.app.refresh_from_db()
    assert tenant_a.app.live_query_classes == ["Chat", "Game"]
    assert AuditEvent.objects.filter(action="app.live_query_classes").count() == 1


def test_deleting_an_app_through_the_api_purges_everything(
    member_of: Callable[[str], Caller], tenant_a: Tenant, tenant_b: Tenant, django_capture_on_commit_callbacks
):
    admin = member_of("admin")
    app = tenant_a.app
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.client.delete(app_url(tenant_a), {"confirm_name": "alice-app"}, format="json")
    assert response.status_code == 202
    assert not App.objects.filter(pk=app.pk).exists()
    assert not AppKey.objects.filter(app_id=app.pk).exists()
    assert not SchemaClass.objects.filter(app_id=app.pk).exists()
    assert partitions_list(app_pk=app.pk) == []
    actions = set(AuditEvent.objects.filter(target_id=tenant_a.application_id).values_list("action", flat=True))
    assert {"app.delete", "app.purge"} <= actions
    assert admin.client.get(app_url(tenant_a)).status_code == 404
    assert partitions_list(app_pk=tenant_b.app.pk)


def test_confirm_name_may_be_a_query_parameter(alice: APIClient, tenant_a: Tenant, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = alice.delete(app_url(tenant_a, "?confirm_name=alice-app"))
    assert response.status_code == 202
    assert not App.objects.filter(pk=tenant_a.app.pk).exists()


@pytest.mark.parametrize("payload", [{}, {"confirm_name": "Alice-App"}, 5, ["alice-app"]])
def test_deleting_needs_the_exact_name(alice: APIClient, tenant_a: Tenant, payload):
    response = alice.delete(app_url(tenant_a), payload, format="json")
    assert (response.status_code, response.json()["field"]) == (400, "confirm_name")
    tenant_a.app.refresh_from_db()
    assert tenant_a.app.status == "active"


def test_a_developer_cannot_delete_an_app(member_of: Callable[[str], Caller], tenant_a: Tenant):
    developer = member_of("developer")
    response = developer.client.delete(app_url(tenant_a), {"confirm_name": "alice-app"}, format="json")
    assert response.status_code == 403
    tenant_a.app.refresh_from_db()
    assert tenant_a.app.status == "active"


def test_keys_hide_the_master_key_unless_an_admin_asks(alice: APIClient, tenant_a: Tenant):
    plain = alice.get(app_url(tenant_a, "/keys")).json()
    assert plain == {**tenant_a.keys, "master": None}
    revealed = alice.get(app_url(tenant_a, "/keys"), {"include_master": "1"}).json()
    assert revealed == tenant_a.keys
    reveals = AuditEvent.objects.filter(organization=tenant_a.organization, action="app.master_key_reveal")
    assert reveals.count() == 1, "only the request that showed the master key is audited"


def test_client_class_creation_is_set_through_the_api(alice: APIClient, tenant_a: Tenant):
    response = alice.put(
        app_url(tenant_a, "/client-class-creation"), {"allow_client_class_creation": True}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["allow_client_class_creation"] is True
    assert alice.get(app_url(tenant_a)).json()["allow_client_class_creation"] is True
    bad = alice.put(
        app_url(tenant_a, "/client-class-creation"), {"allow_client_class_creation": "maybe"}, format="json"
    )
    assert bad.status_code == 400


def test_a_developer_never_sees_the_master_key(member_of: Callable[[str], Caller], tenant_a: Tenant):
    developer = member_of("developer")
    body = developer.client.get(app_url(tenant_a, "/keys"), {"include_master": "true"}).json()
    assert body["master"] is None
    assert body["rest"] == tenant_a.keys["rest"]


def test_an_admin_sees_the_master_key(member_of: Callable[[str], Caller], tenant_a: Tenant):
    admin = member_of("admin")
    assert admin.client.get(app_url(tenant_a, "/keys?include_master=1")).json()["master"] == tenant_a.keys["master"]


def test_an_admin_rotates_a_key(member_of: Callable[[str], Caller], tenant_a: Tenant):
    admin = member_of("admin")
    response = admin.client.post(app_url(tenant_a, "/keys/rest/rotate"))
    assert response.status_code == 200
    body = response.json()
    assert body["kind"] == "rest"
    assert body["value"] != tenant_a.keys["rest"]
    assert stored_key(tenant_a.app.pk, "rest") == body["value"]
    assert admin.client.get(app_url(tenant_a, "/keys")).json()["rest"] == body["value"]
    assert stored_key(tenant_a.app.pk, "client") == tenant_a.keys["client"]
    assert AuditEvent.objects.filter(action="app.key_rotate", details={"kind": "rest"}).exists()


@pytest.mark.parametrize("role", ["viewer", "developer"])
def test_below_admin_cannot_rotate_keys(member_of: Callable[[str], Caller], tenant_a: Tenant, role):
    response = member_of(role).client.post(app_url(tenant_a, "/keys/master/rotate"))
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert stored_key(tenant_a.app.pk, "master") == tenant_a.keys["master"]


def test_rotating_an_unknown_kind_is_400(alice: APIClient, tenant_a: Tenant):
    response = alice.post(app_url(tenant_a, "/keys/skeleton/rotate"))
    assert (response.status_code, response.json()["field"]) == (400, "kind")
