"""The API console page: the app's REST key and id for the browser's call, snippets filled in, never the master key."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.conftest import Tenant
from tests.dashboard.conftest import AddMember, logged_in

pytestmark = pytest.mark.django_db


def console_url(tenant: Tenant) -> str:
    return reverse("dashboard:api_console", args=[tenant.organization.pk, tenant.app.pk])


def test_the_console_fills_in_the_app_and_never_shows_the_master_key(alice_client: Client, tenant_a: Tenant) -> None:
    page = alice_client.get(console_url(tenant_a)).content.decode()

    server_url = settings.HANGAR_PUBLIC_URL + settings.HANGAR_PARSE_MOUNT
    assert f'data-rest-key="{tenant_a.keys["rest"]}"' in page
    assert f'data-application-id="{tenant_a.application_id}"' in page
    for snippet in ("snippet-js", "snippet-ios", "snippet-android", "snippet-flutter", "snippet-rest"):
        assert f'id="{snippet}"' in page
    assert page.count(tenant_a.application_id) >= 6
    assert f"{server_url}/classes/GameScore" in page
    assert tenant_a.keys["master"] not in page


def test_a_viewer_may_use_the_console(tenant_a: Tenant, add_member: AddMember) -> None:
    viewer = logged_in(add_member(tenant_a, "vera", "viewer").developer)

    page = viewer.get(console_url(tenant_a))

    assert page.status_code == 200
    assert tenant_a.keys["master"] not in page.content.decode()
