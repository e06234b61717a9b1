"""Home, organizations, creating apps and the app settings page: keys, reveal, rotate, rename, delete."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from tenants import selectors
from tenants.models import App, AuditEvent, Organization, Plan
from tests.conftest import Tenant
from tests.dashboard.conftest import AddMember, logged_in

pytestmark = pytest.mark.django_db

PUBLIC_KINDS = ["client", "javascript", "rest", "dotnet"]


def settings_url(tenant: Tenant) -> str:
    return reverse("dashboard:app_settings", args=[tenant.organization.pk, tenant.app.pk])


def reveal_url(tenant: Tenant) -> str:
    return reverse("dashboard:app_master_key_reveal", args=[tenant.organization.pk, tenant.app.pk])


def rotate_url(tenant: Tenant, kind: str) -> str:
    return reverse("dashboard:app_key_rotate", args=[tenant.organization.pk, tenant.app.pk, kind])


def current_keys(tenant: Tenant) -> dict[str, str | None]:
    return selectors.app_keys_for(developer=tenant.developer, app=tenant.app, include_master=True)


def test_home_lists_the_organizations_and_their_apps(alice_client: Client, tenant_a: Tenant) -> None:
    page = alice_client.get(reverse("dashboard:home")).content.decode()

    assert escape(tenant_a.organization.name) in page
    assert tenant_a.app.name in page
    assert settings_url(tenant_a) in page
    assert reverse("dashboard:app_create", args=[tenant_a.organization.pk]) in page


def test_creating_an_organization_makes_the_developer_its_owner(alice_client: Client, tenant_a: Tenant) -> None:
    response = alice_client.post(reverse("dashboard:organization_create"), {"name": "Acme Mobile"})

    organization = Organization.objects.get(name="Acme Mobile")
    assert response.url == reverse("dashboard:organization_detail", args=[organization.pk])
    assert selectors.membership_role(developer=tenant_a.developer, organization=organization) == "owner"
    assert "Acme Mobile" in alice_client.get(reverse("dashboard:home")).content.decode()


def test_creating_an_app_shows_its_id_and_keys(alice_client: Client, tenant_a: Tenant) -> None:
    response = alice_client.post(reverse("dashboard:app_create", args=[tenant_a.organization.pk]), {"name": "Pets"})

    app = App.objects.get(organization=tenant_a.organization, name="Pets")
    assert response.url == reverse("dashboard:app_settings", args=[tenant_a.organization.pk, app.pk])
    page = alice_client.get(response.url).content.decode()
    keys = selectors.app_keys_for(developer=tenant_a.developer, app=app, include_master=True)
    assert app.application_id in page
    for kind in PUBLIC_KINDS:
        assert keys[kind] in page
    assert keys["master"] not in page, "the master key stays hidden until revealed"
    assert f"{settings.HANGAR_PUBLIC_URL}/parse" in page
    assert f'Parse.initialize("{app.application_id}", "{keys["javascript"]}")' in page.replace("&quot;", '"')


def test_creating_an_app_with_an_empty_name_shows_a_form_error(alice_client: Client, tenant_a: Tenant) -> None:
    response = alice_client.post(reverse("dashboard:app_create", args=[tenant_a.organization.pk]), {"name": "  "})

    assert response.status_code == 200
    assert response.context["form"].errors["name"]
    assert tenant_a.organization.apps.count() == 1


def test_the_plan_limit_on_apps_is_a_form_error(alice_client: Client, tenant_a: Tenant) -> None:
    Organization.objects.filter(pk=tenant_a.organization.pk).update(
        plan=Plan.objects.create(name="tiny", requests_per_second=10, max_apps=1)
    )

    response = alice_client.post(reverse("dashboard:app_create", args=[tenant_a.organization.pk]), {"name": "Two"})

    assert response.status_code == 200
    assert "allows 1 apps" in response.context["form"].non_field_errors()[0]
    assert not App.objects.filter(name="Two").exists()


def test_a_viewer_cannot_create_apps(tenant_a: Tenant, add_member: AddMember) -> None:
    viewer = logged_in(add_member(tenant_a, "vera", "viewer").developer)
    url = reverse("dashboard:app_create", args=[tenant_a.organization.pk])

    assert url not in viewer.get(reverse("dashboard:home")).content.decode()
    assert viewer.get(url).status_code == 403
    assert viewer.post(url, {"name": "Sneaky"}).status_code == 403
    assert not App.objects.filter(name="Sneaky").exists()


@pytest.mark.parametrize("role", ["developer", "viewer"])
def test_the_master_key_is_hidden_from_developers_and_viewers(
    tenant_a: Tenant, add_member: AddMember, role: str
) -> None:
    member = logged_in(add_member(tenant_a, "mo", role).developer)
    master = tenant_a.keys["master"]

    page = member.get(settings_url(tenant_a)).content.decode()
    assert tenant_a.keys["rest"] in page
    assert master not in page
    assert reveal_url(tenant_a) not in page, "no Reveal button for this role"

    response = member.post(reveal_url(tenant_a), HTTP_HX_REQUEST="true")
    assert response.status_code == 403
    assert master not in response.content.decode()


def test_the_owner_reveals_the_master_key_in_place_with_htmx(alice_client: Client, tenant_a: Tenant) -> None:
    page = alice_client.get(settings_url(tenant_a)).content.decode()
    assert reveal_url(tenant_a) in page

    response = alice_client.post(reveal_url(tenant_a), HTTP_HX_REQUEST="true")

    body = response.content.decode()
    assert response.status_code == 200
    assert tenant_a.keys["master"] in body
    assert 'id="key-master"' in body
    assert "<html" not in body, "htmx gets only the key's row"


def test_an_admin_reveals_the_master_key_without_javascript(tenant_a: Tenant, add_member: AddMember) -> None:
    admin = logged_in(add_member(tenant_a, "ada", "admin").developer)

    response = admin.post(reveal_url(tenant_a))

    assert response.status_code == 200
    assert "<html" in response.content.decode()
    assert tenant_a.keys["master"] in response.content.decode()


def test_revealing_is_post_only(alice_client: Client, tenant_a: Tenant) -> None:
    assert alice_client.get(reveal_url(tenant_a)).status_code == 405


@pytest.mark.parametrize("kind", ["rest", "master"])
def test_rotating_a_key_replaces_it(alice_client: Client, tenant_a: Tenant, kind: str) -> None:
    old = tenant_a.keys[kind]

    response = alice_client.post(rotate_url(tenant_a, kind), HTTP_HX_REQUEST="true")

    new = current_keys(tenant_a)[kind]
    assert new != old
    assert new in response.content.decode()
    assert old not in response.content.decode()
    assert current_keys(tenant_a)["client"] == tenant_a.keys["client"], "other keys are untouched"


def test_rotating_without_javascript_confirms_first(alice_client: Client, tenant_a: Tenant) -> None:
    confirm = alice_client.get(rotate_url(tenant_a, "client"))
    assert confirm.status_code == 200
    assert current_keys(tenant_a)["client"] == tenant_a.keys["client"]

    response = alice_client.post(rotate_url(tenant_a, "client"))

    assert response.url == settings_url(tenant_a)
    new = current_keys(tenant_a)["client"]
    assert new != tenant_a.keys["client"]
    assert new in alice_client.get(response.url).content.decode()


def test_a_developer_cannot_rotate_keys(tenant_a: Tenant, add_member: AddMember) -> None:
    developer = logged_in(add_member(tenant_a, "dev", "developer").developer)

    assert rotate_url(tenant_a, "rest") not in developer.get(settings_url(tenant_a)).content.decode()
    assert developer.post(rotate_url(tenant_a, "rest"), HTTP_HX_REQUEST="true").status_code == 403
    assert current_keys(tenant_a)["rest"] == tenant_a.keys["rest"]


def test_an_unknown_key_kind_is_not_found(alice_client: Client, tenant_a: Tenant) -> None:
    url = settings_url(tenant_a) + "keys/bogus/rotate/"

    assert alice_client.post(url).status_code == 404


def test_renaming_an_app(alice_client: Client, tenant_a: Tenant) -> None:
    url = reverse("dashboard:app_rename", args=[tenant_a.organization.pk, tenant_a.app.pk])

    assert alice_client.post(url, {"name": ""}).context["form"].errors["name"]
    response = alice_client.post(url, {"name": "Renamed"})

    assert response.url == settings_url(tenant_a)
    tenant_a.app.refresh_from_db()
    assert tenant_a.app.name == "Renamed"


def test_deleting_needs_the_exact_name(alice_client: Client, tenant_a: Tenant) -> None:
    url = reverse("dashboard:app_delete", args=[tenant_a.organization.pk, tenant_a.app.pk])

    refused = alice_client.post(url, {"confirm_name": "alice-ap"})
    assert refused.status_code == 200
    assert refused.context["form"].errors["confirm_name"]
    assert App.objects.get(pk=tenant_a.app.pk).status == App.Status.ACTIVE

    response = alice_client.post(url, {"confirm_name": "alice-app"})
    assert response.url == reverse("dashboard:organization_detail", args=[tenant_a.organization.pk])
    assert not App.objects.filter(pk=tenant_a.app.pk, status=App.Status.ACTIVE).exists()
    assert alice_client.get(settings_url(tenant_a)).status_code == 404
    assert settings_url(tenant_a) not in alice_client.get(response.url).content.decode()


def test_a_developer_may_rename_but_not_delete(tenant_a: Tenant, add_member: AddMember) -> None:
    developer = logged_in(add_member(tenant_a, "dev", "developer").developer)
    delete_url = reverse("dashboard:app_delete", args=[tenant_a.organization.pk, tenant_a.app.pk])

    page = developer.get(settings_url(tenant_a)).content.decode()
    assert delete_url not in page
    assert reverse("dashboard:app_rename", args=[tenant_a.organization.pk, tenant_a.app.pk]) in page
    assert developer.post(delete_url, {"confirm_name": "alice-app"}).status_code == 403
    assert App.objects.get(pk=tenant_a.app.pk).status == App.Status.ACTIVE


def test_forms_and_htmx_actions_are_csrf_protected(tenant_a: Tenant) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(tenant_a.developer)
    page = browser.get(settings_url(tenant_a)).content.decode()
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page)
    assert token, "htmx sends the CSRF token from the body's hx-headers"

    refused = browser.post(rotate_url(tenant_a, "rest"), HTTP_HX_REQUEST="true")
    accepted = browser.post(rotate_url(tenant_a, "rest"), HTTP_HX_REQUEST="true", HTTP_X_CSRFTOKEN=token.group(1))

    assert refused.status_code == 403
    assert accepted.status_code == 200
    assert current_keys(tenant_a)["rest"] != tenant_a.keys["rest"]
    assert page.count('name="csrfmiddlewaretoken"') == page.count('method="post"')


def test_the_live_query_classes_are_set_on_the_settings_page(tenant_a: Tenant, add_member: AddMember) -> None:
    url = reverse("dashboard:app_live_query", args=[tenant_a.organization.pk, tenant_a.app.pk])
    developer = logged_in(add_member(tenant_a, "dev", "developer").developer)
    assert url in developer.get(settings_url(tenant_a)).content.decode()
    assert developer.post(url, {"classes": "Game, Chat Game"}).status_code == 302
    assert App.objects.get(pk=tenant_a.app.pk).live_query_classes == ["Chat", "Game"]
    page = developer.get(settings_url(tenant_a)).content.decode()
    assert 'value="Chat, Game"' in page
    developer.post(url, {"classes": "bad-name!"})  # refused: the setting stays
    assert App.objects.get(pk=tenant_a.app.pk).live_query_classes == ["Chat", "Game"]
    developer.post(url, {"classes": ""})
    assert App.objects.get(pk=tenant_a.app.pk).live_query_classes == []
    viewer = logged_in(add_member(tenant_a, "view", "viewer").developer)
    assert viewer.post(url, {"classes": "Game"}).status_code == 403
    assert App.objects.get(pk=tenant_a.app.pk).live_query_classes == []


def class_creation_url(tenant: Tenant) -> str:
    return reverse("dashboard:app_client_class_creation", args=[tenant.organization.pk, tenant.app.pk])


def test_the_settings_page_explains_the_119_next_to_client_class_creation(
    alice_client: Client, tenant_a: Tenant
) -> None:
    page = alice_client.get(settings_url(tenant_a)).content.decode()

    assert "Client class creation" in page
    assert "<code>119</code>" in page
    assert 'id="allow-client-class-creation"' in page
    assert 'id="allow-client-class-creation" checked' not in page, "off by default"


def test_a_developer_turns_client_class_creation_on_and_off(tenant_a: Tenant, add_member: AddMember) -> None:
    developer = logged_in(add_member(tenant_a, "dev", "developer").developer)

    developer.post(class_creation_url(tenant_a), {"allow_client_class_creation": "on"})
    tenant_a.app.refresh_from_db()
    assert tenant_a.app.allow_client_class_creation is True
    assert 'id="allow-client-class-creation" checked' in developer.get(settings_url(tenant_a)).content.decode()
    event = AuditEvent.objects.filter(organization=tenant_a.organization, action="app.client_class_creation").get()
    assert event.details == {"from": False, "to": True}

    developer.post(class_creation_url(tenant_a), {})
    tenant_a.app.refresh_from_db()
    assert tenant_a.app.allow_client_class_creation is False


def test_a_viewer_cannot_turn_on_client_class_creation(tenant_a: Tenant, add_member: AddMember) -> None:
    viewer = logged_in(add_member(tenant_a, "vera", "viewer").developer)

    page = viewer.get(settings_url(tenant_a)).content.decode()
    assert class_creation_url(tenant_a) not in page
    assert "Off: only the master key creates classes." in page
    assert viewer.post(class_creation_url(tenant_a), {"allow_client_class_creation": "on"}).status_code == 403
    tenant_a.app.refresh_from_db()
    assert tenant_a.app.allow_client_class_creation is False


def test_revealing_the_master_key_is_audited(alice_client: Client, tenant_a: Tenant) -> None:
    alice_client.post(reveal_url(tenant_a), HTTP_HX_REQUEST="true")

    event = AuditEvent.objects.filter(organization=tenant_a.organization, action="app.master_key_reveal").get()
    assert event.actor == tenant_a.developer
    assert event.target_id == tenant_a.app.application_id
    audit_page = alice_client.get(reverse("dashboard:audit_log", args=[tenant_a.organization.pk])).content.decode()
    assert "app.master_key_reveal" in audit_page
    assert re.search(r"\d\d:\d\d UTC</time>", audit_page), "audit times show their time zone"


def test_a_refused_reveal_is_not_audited_as_a_reveal(tenant_a: Tenant, add_member: AddMember) -> None:
    developer = logged_in(add_member(tenant_a, "dev", "developer").developer)

    assert developer.post(reveal_url(tenant_a)).status_code == 403
    assert not AuditEvent.objects.filter(action="app.master_key_reveal").exists()
