"""The Users page: search and create end users, see verification, revoke a session, send reset mails; roles."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from django.test import Client
from django.urls import reverse

from hangar.caller import Caller
from hangar.identity import users
from hangar.identity.sessions import session_user_id
from hangar.messaging.models import LoggedMessage
from hangar.parse_errors import ParseError
from tenants import users_console
from tests.conftest import Tenant
from tests.dashboard.conftest import AddMember, logged_in

pytestmark = pytest.mark.django_db(transaction=True)


def url(tenant: Tenant, name: str, *extra: str) -> str:
    return reverse(f"dashboard:{name}", args=[tenant.organization.pk, tenant.app.pk, *extra])


def log_in(tenant: Tenant, username: str, password: str) -> str:
    """A real Parse login of the end user; returns its session token."""
    answer = async_to_sync(users.user_log_in)(
        caller=Caller(app_pk=tenant.app.pk, is_master=False), params={"username": username, "password": password},
        client_ip="127.0.0.1", files_base="",
    )  # fmt: skip
    return str(answer["sessionToken"])


def test_creating_a_user_hashes_the_password_and_lists_them(alice_client: Client, tenant_a: Tenant) -> None:
    response = alice_client.post(
        url(tenant_a, "user_create"), {"username": "ada", "password": "s3cret-pass", "email": "ada@example.com"}
    )
    user_id = response.url.rstrip("/").rsplit("/", 1)[1]

    listed = alice_client.get(url(tenant_a, "users")).content.decode()
    assert "ada@example.com" in listed
    assert "s3cret-pass" not in alice_client.get(url(tenant_a, "user_detail", user_id)).content.decode()
    assert log_in(tenant_a, "ada", "s3cret-pass").startswith("r:"), "the password works through the Parse API"
    found = alice_client.get(url(tenant_a, "users"), {"q": "zz"}).content.decode()
    assert 'id="no-users"' in found


def test_a_duplicate_username_is_the_parse_error(alice_client: Client, tenant_a: Tenant) -> None:
    users_console.user_create(app=tenant_a.app, username="ada", password="pw-12345")

    page = alice_client.post(
        url(tenant_a, "user_create"), {"username": "ada", "password": "other-pw"}, follow=True
    ).content.decode()

    assert "Parse error 202" in page


def test_revoking_a_session_stops_its_token(alice_client: Client, tenant_a: Tenant) -> None:
    user_id = users_console.user_create(app=tenant_a.app, username="ada", password="pw-12345")
    token = log_in(tenant_a, "ada", "pw-12345")
    sessions = users_console.user_sessions(app=tenant_a.app, user_id=user_id).rows  # the sign-up's and the login's
    assert async_to_sync(session_user_id)(app_pk=tenant_a.app.pk, token=token) == user_id
    page = alice_client.get(url(tenant_a, "user_detail", user_id)).content.decode()
    assert all(session["objectId"] in page for session in sessions)

    for left, session in reversed(list(enumerate(sessions))):
        alice_client.post(url(tenant_a, "user_session_revoke", user_id, session["objectId"]))
        assert len(users_console.user_sessions(app=tenant_a.app, user_id=user_id).rows) == left, "one at a time"

    with pytest.raises(ParseError) as refused:
        async_to_sync(session_user_id)(app_pk=tenant_a.app.pk, token=token)
    assert refused.value.code == 209


def test_a_session_of_another_user_cannot_be_revoked_through_this_one(alice_client: Client, tenant_a: Tenant) -> None:
    ada = users_console.user_create(app=tenant_a.app, username="ada", password="pw-12345")
    users_console.user_create(app=tenant_a.app, username="bo", password="pw-12345")
    log_in(tenant_a, "bo", "pw-12345")
    bo_id = users_console.user_page(app=tenant_a.app, search="bo").rows[0]["objectId"]
    bo_sessions = users_console.user_sessions(app=tenant_a.app, user_id=bo_id).rows

    page = alice_client.post(
        url(tenant_a, "user_session_revoke", ada, bo_sessions[0]["objectId"]), follow=True
    ).content.decode()

    assert "not one of this user" in page
    assert users_console.user_sessions(app=tenant_a.app, user_id=bo_id).rows == bo_sessions


def test_sending_a_password_reset_mails_the_user(alice_client: Client, tenant_a: Tenant) -> None:
    user_id = users_console.user_create(app=tenant_a.app, username="ada", password="pw-12345", email="ada@example.com")

    alice_client.post(url(tenant_a, "user_mail", user_id, "reset"))

    [sent] = LoggedMessage.objects.filter(app=tenant_a.app, channel="email")  # the log provider of the tests
    assert sent.recipient == "ada@example.com"
    assert "choose_password" in str(sent.content)


def test_a_viewer_sees_users_but_changes_nothing(tenant_a: Tenant, add_member: AddMember) -> None:
    user_id = users_console.user_create(app=tenant_a.app, username="ada", password="pw-12345", email="a@example.com")
    log_in(tenant_a, "ada", "pw-12345")
    [session, *_] = users_console.user_sessions(app=tenant_a.app, user_id=user_id).rows
    viewer = logged_in(add_member(tenant_a, "vera", "viewer").developer)

    page = viewer.get(url(tenant_a, "user_detail", user_id)).content.decode()
    assert "a@example.com" in page
    assert "Revoke" not in page
    assert "Send password reset" not in page
    attempts = [
        viewer.post(url(tenant_a, "user_create"), {"username": "planted", "password": "pw-12345"}),
        viewer.post(url(tenant_a, "user_session_revoke", user_id, session["objectId"])),
        viewer.post(url(tenant_a, "user_mail", user_id, "reset")),
    ]
    assert [response.status_code for response in attempts] == [403, 403, 403]
    assert users_console.user_sessions(app=tenant_a.app, user_id=user_id).rows != []
    assert not LoggedMessage.objects.filter(app=tenant_a.app).exists()
    assert users_console.user_page(app=tenant_a.app, search="planted").rows == []
