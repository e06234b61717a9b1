"""Password reset and email verification end to end: real SMTP mail, the mailed links' pages, then the Parse API.

Mail goes through Django's SMTP backend to an aiosmtpd server on 127.0.0.1 (the Celery
task runs eagerly, as in settings_test); the pages are driven with Django's test client
with CSRF checks on, as a browser would.
"""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller
from asgiref.sync import sync_to_async
from django.conf import settings as django_settings
from django.test import Client

from tests.conftest import _free_port
from tests.datastore.conftest import ParseApp
from tests.identity.conftest import auth_settings, sign_up, sql

pytestmark = pytest.mark.django_db(transaction=True)
LINK = re.compile(r"https?://\S+/apps/\S+")
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
HIDDEN_TOKEN = re.compile(r'name="token" value="([^"]+)"')


class Mailbox:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted for delivery"

    def link(self, to: str) -> str:
        """The link in the last mail sent to ``to``."""
        mails = [m for m in self.messages if to in m["To"]]
        assert mails, f"no mail to {to}"
        match = LINK.search(mails[-1].get_body(("plain",)).get_content())
        assert match
        return match.group(0)


@pytest.fixture
def mailbox(settings: Any) -> Iterator[Mailbox]:
    handler = Mailbox()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    try:
        yield handler
    finally:
        controller.stop()


def page_path(link: str) -> str:
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}"


async def get(client: Client, path: str) -> Any:
    return await sync_to_async(client.get)(path)


async def submit_password(client: Client, path: str, password: str, confirm: str | None = None) -> Any:
    """Open the choose-password page and post the form from it, CSRF token included."""
    page = await get(client, path)
    assert page.status_code == 200, page.content
    html = page.content.decode()
    form = {
        "csrfmiddlewaretoken": CSRF.search(html).group(1),
        "token": HIDDEN_TOKEN.search(html).group(1),
        "new_password": password,
        "confirm_password": password if confirm is None else confirm,
    }
    return await sync_to_async(client.post)(urlsplit(path).path, form)


async def request_reset(app: ParseApp, address: str) -> None:
    response = await app.request("POST", "/requestPasswordReset", {"email": address})
    assert response.status_code == 200
    assert response.json() == {}


async def login(app: ParseApp, username: str, password: str) -> Any:
    return await app.request("POST", "/login", {"username": username, "password": password})


async def test_password_reset_by_mail_then_login_with_the_new_password(app_a: ParseApp, mailbox: Mailbox) -> None:
    await sign_up(app_a, "ada", "old-secret-1", email="ada@example.com")
    await request_reset(app_a, "ada@example.com")
    [mail] = mailbox.messages
    assert mail["Subject"] == f"Password reset for {app_a.tenant.app.name}"
    link = mailbox.link("ada@example.com")
    assert link.startswith(
        f"{django_settings.HANGAR_PUBLIC_URL}/apps/{app_a.tenant.application_id}/choose_password?token="
    )

    client = Client(enforce_csrf_checks=True)
    page = await get(client, page_path(link))
    assert app_a.tenant.app.name in page.content.decode()
    assert page["Cache-Control"].startswith("max-age=0")
    done = await submit_password(client, page_path(link), "new-secret-2")
    assert done.status_code == 200
    assert "Your password has been changed" in done.content.decode()

    assert (await login(app_a, "ada", "new-secret-2")).status_code == 200
    old = await login(app_a, "ada", "old-secret-1")
    assert old.json() == {"code": 101, "error": "Invalid username/password."}


async def test_a_reset_link_works_once(app_a: ParseApp, mailbox: Mailbox) -> None:
    await sign_up(app_a, "ada", email="ada@example.com")
    await request_reset(app_a, "ada@example.com")
    path = page_path(mailbox.link("ada@example.com"))
    client = Client(enforce_csrf_checks=True)
    page = await get(client, path)
    html = page.content.decode()
    form = {"csrfmiddlewaretoken": CSRF.search(html).group(1), "token": HIDDEN_TOKEN.search(html).group(1)}
    first = await sync_to_async(client.post)(
        urlsplit(path).path, {**form, "new_password": "n1-secret", "confirm_password": "n1-secret"}
    )
    second = await sync_to_async(client.post)(
        urlsplit(path).path, {**form, "new_password": "n2-secret", "confirm_password": "n2-secret"}
    )
    assert first.status_code == 200
    assert second.status_code == 400
    assert "invalid or has expired" in second.content.decode()
    assert (await get(client, path)).status_code == 400
    assert (await login(app_a, "ada", "n1-secret")).status_code == 200
    assert (await login(app_a, "ada", "n2-secret")).json()["code"] == 101


async def test_a_new_reset_request_replaces_the_earlier_link(app_a: ParseApp, mailbox: Mailbox) -> None:
    await sign_up(app_a, "ada", email="ada@example.com")
    await request_reset(app_a, "ada@example.com")
    first = page_path(mailbox.link("ada@example.com"))
    await request_reset(app_a, "ada@example.com")
    second = page_path(mailbox.link("ada@example.com"))
    client = Client(enforce_csrf_checks=True)
    assert (await get(client, first)).status_code == 400
    assert (await get(client, second)).status_code == 200


async def test_an_expired_reset_link_shows_the_invalid_page(app_a: ParseApp, mailbox: Mailbox) -> None:
    user = await sign_up(app_a, "ada", email="ada@example.com")
    await request_reset(app_a, "ada@example.com")
    path = page_path(mailbox.link("ada@example.com"))
    client = Client(enforce_csrf_checks=True)
    page = await get(client, path)
    assert page.status_code == 200
    await sql(
        "UPDATE datastore_object SET data = jsonb_set(data, '{_perishable_token_expires_at}', "
        '\'{"__type": "Date", "iso": "2000-01-01T00:00:00.000Z"}\') WHERE object_id = %s',
        [user["objectId"]],
    )
    expired = await get(client, path)
    assert expired.status_code == 400
    assert "invalid or has expired" in expired.content.decode()
    html = page.content.decode()
    posted = await sync_to_async(client.post)(urlsplit(path).path, {
        "csrfmiddlewaretoken": CSRF.search(html).group(1), "token": HIDDEN_TOKEN.search(html).group(1),
        "new_password": "new-secret-2", "confirm_password": "new-secret-2",
    })  # fmt: skip
    assert posted.status_code == 400
    assert "invalid or has expired" in posted.content.decode()
    assert (await login(app_a, "ada", "new-secret-2")).json()["code"] == 101


async def test_password_policy_errors_show_on_the_form_and_keep_the_link(app_a: ParseApp, mailbox: Mailbox) -> None:
    await auth_settings(app_a.tenant, password_min_length=12)
    await sign_up(app_a, "ada", "long-enough-secret", email="ada@example.com")
    await request_reset(app_a, "ada@example.com")
    path = page_path(mailbox.link("ada@example.com"))
    client = Client(enforce_csrf_checks=True)
    short = await submit_password(client, path, "short")
    assert short.status_code == 400
    assert "Password does not meet the Password Policy requirements." in short.content.decode()
    differ = await submit_password(client, path, "another-long-secret", confirm="something-else-long")
    assert differ.status_code == 400
    assert "The two passwords differ." in differ.content.decode()
    assert (await submit_password(client, path, "another-long-secret")).status_code == 200
    assert (await login(app_a, "ada", "another-long-secret")).status_code == 200


async def test_the_form_refuses_a_post_without_the_csrf_token(app_a: ParseApp, mailbox: Mailbox) -> None:
    await sign_up(app_a, "ada", email="ada@example.com")
    await request_reset(app_a, "ada@example.com")
    path = page_path(mailbox.link("ada@example.com"))
    client = Client(enforce_csrf_checks=True)
    token = HIDDEN_TOKEN.search((await get(client, path)).content.decode()).group(1)
    forged = await sync_to_async(client.post)(
        urlsplit(path).path, {"token": token, "new_password": "evil-secret", "confirm_password": "evil-secret"}
    )
    assert forged.status_code == 403
    assert (await login(app_a, "ada", "evil-secret")).json()["code"] == 101


async def test_a_reset_token_of_one_app_is_invalid_on_another_apps_page(
    app_a: ParseApp, app_b: ParseApp, mailbox: Mailbox
) -> None:
    await sign_up(app_a, "ada", email="ada@example.com")
    await sign_up(app_b, "ada", email="ada@example.com")
    await request_reset(app_a, "ada@example.com")
    path_a = page_path(mailbox.link("ada@example.com"))
    path_b = path_a.replace(app_a.tenant.application_id, app_b.tenant.application_id)
    client = Client(enforce_csrf_checks=True)
    on_b = await get(client, path_b)
    assert on_b.status_code == 400
    assert app_b.tenant.app.name in on_b.content.decode()
    page = (await get(client, path_a)).content.decode()
    posted = await sync_to_async(client.post)(urlsplit(path_b).path, {
        "csrfmiddlewaretoken": CSRF.search(page).group(1), "token": HIDDEN_TOKEN.search(page).group(1),
        "new_password": "new-secret-2", "confirm_password": "new-secret-2",
    })  # fmt: skip
    assert posted.status_code == 400
    assert (await login(app_b, "ada", "new-secret-2")).json()["code"] == 101
    assert (await login(app_a, "ada", "new-secret-2")).json()["code"] == 101
    assert (await get(client, path_a)).status_code == 200  # still usable where it belongs


async def test_pages_of_an_unknown_app_are_404(mailbox: Mailbox) -> None:
    client = Client()
    assert (await get(client, "/apps/no-such-app/choose_password?token=x")).status_code == 404
    assert (await get(client, "/apps/no-such-app/verify_email?token=x")).status_code == 404


async def test_email_verification_by_mail_unlocks_login(app_a: ParseApp, mailbox: Mailbox) -> None:
    await auth_settings(app_a.tenant, verify_user_emails=True, prevent_login_with_unverified_email=True)
    signed_up = await sign_up(app_a, "ada", "pw-secret-1", email="ada@example.com")
    assert "sessionToken" not in signed_up
    [mail] = mailbox.messages
    assert mail["Subject"] == f"Please verify your email for {app_a.tenant.app.name}"
    link = mailbox.link("ada@example.com")
    assert link.startswith(
        f"{django_settings.HANGAR_PUBLIC_URL}/apps/{app_a.tenant.application_id}/verify_email?token="
    )
    refused = await login(app_a, "ada", "pw-secret-1")
    assert refused.status_code == 400
    assert refused.json() == {"code": 205, "error": "User email is not verified."}

    client = Client(enforce_csrf_checks=True)
    page = await get(client, page_path(link))
    assert page.status_code == 200
    assert "verified" in page.content.decode()
    assert app_a.tenant.app.name in page.content.decode()
    logged_in = await login(app_a, "ada", "pw-secret-1")
    assert logged_in.status_code == 200
    me = await app_a.request("GET", "/users/me", session=logged_in.json()["sessionToken"])
    assert me.json()["emailVerified"] is True
    again = await get(client, page_path(link))
    assert again.status_code == 400
    assert "invalid or has expired" in again.content.decode()


async def test_verification_email_request_sends_a_new_working_link(app_a: ParseApp, mailbox: Mailbox) -> None:
    await auth_settings(app_a.tenant, verify_user_emails=True)
    await sign_up(app_a, "ada", email="ada@example.com")
    first = mailbox.link("ada@example.com")
    response = await app_a.request("POST", "/verificationEmailRequest", {"email": "ada@example.com"})
    assert response.status_code == 200
    link = mailbox.link("ada@example.com")
    assert link != first  # a new link replaces the earlier one (emailVerifyTokenReuseIfValid off)
    assert (await get(Client(), page_path(first))).status_code == 400
    assert (await get(Client(), page_path(link))).status_code == 200
    sent = len(mailbox.messages)
    # Once verified, the answer is the same {} as for any email, and nothing is sent.
    again = await app_a.request("POST", "/verificationEmailRequest", {"email": "ada@example.com"})
    assert (again.status_code, again.json()) == (200, {})
    assert len(mailbox.messages) == sent


async def test_an_expired_or_foreign_verification_link_changes_nothing(
    app_a: ParseApp, app_b: ParseApp, mailbox: Mailbox
) -> None:
    await auth_settings(app_a.tenant, verify_user_emails=True)
    user = await sign_up(app_a, "ada", email="ada@example.com")
    path = page_path(mailbox.link("ada@example.com"))
    client = Client()
    foreign = await get(client, path.replace(app_a.tenant.application_id, app_b.tenant.application_id))
    assert foreign.status_code == 400
    await sql(
        "UPDATE datastore_object SET data = jsonb_set(data, '{_email_verify_token_expires_at}', "
        '\'{"__type": "Date", "iso": "2000-01-01T00:00:00.000Z"}\') WHERE object_id = %s',
        [user["objectId"]],
    )
    assert (await get(client, path)).status_code == 400
    me = await app_a.request("GET", "/users/me", session=user["sessionToken"])
    assert me.json()["emailVerified"] is False


async def test_a_password_set_by_reset_unlinks_the_anonymous_id(app_a: ParseApp, mailbox: Mailbox) -> None:
    """Setting a password by the reset link upgrades an anonymous user: its device-held id no longer logs in."""
    anon_id = "9d3c0a52-0000-4000-8000-000000000001"
    first = await app_a.request("POST", "/users", {"authData": {"anonymous": {"id": anon_id}}})
    user = first.json()
    await app_a.request(
        "PUT", f"/users/{user['objectId']}", {"email": "anon@example.com"}, session=user["sessionToken"]
    )
    await request_reset(app_a, "anon@example.com")
    client = Client(enforce_csrf_checks=True)
    done = await submit_password(client, page_path(mailbox.link("anon@example.com")), "new-secret-2")
    assert done.status_code == 200
    again = await app_a.request("POST", "/users", {"authData": {"anonymous": {"id": anon_id}}})
    assert again.status_code == 201  # a fresh anonymous user, not the upgraded account
    assert again.json()["objectId"] != user["objectId"]


async def test_account_mails_to_one_address_are_capped_per_hour(
    app_a: ParseApp, mailbox: Mailbox, settings: Any
) -> None:
    settings.HANGAR_ACCOUNT_MAIL_RATE_PER_EMAIL = 2
    await sign_up(app_a, "ada", email="ada@example.com")
    await request_reset(app_a, "ada@example.com")
    await request_reset(app_a, "ADA@example.com")  # the same address, however it is spelled
    flooded = await app_a.request("POST", "/requestPasswordReset", {"email": "ada@example.com"})
    assert flooded.status_code == 429
    assert flooded.json()["code"] == 100
    assert flooded.headers["retry-after"] == "3600"
    assert len([m for m in mailbox.messages if "ada@example.com" in m["To"]]) == 2
    # An address without an account is counted the same, so the 429 tells nothing about accounts.
    for _ in range(2):
        await request_reset(app_a, "nobody@example.com")
    assert (await app_a.request("POST", "/requestPasswordReset", {"email": "nobody@example.com"})).status_code == 429
    # Verification requests share the cap; other addresses and the master key are not held back.
    assert (await app_a.request("POST", "/verificationEmailRequest", {"email": "ada@example.com"})).status_code == 429
    await request_reset(app_a, "other@example.com")
    master = await app_a.request("POST", "/requestPasswordReset", {"email": "ada@example.com"}, master=True)
    assert master.status_code == 200


async def test_account_mails_from_one_address_are_capped_per_minute(app_a: ParseApp, settings: Any) -> None:
    settings.HANGAR_ACCOUNT_MAIL_RATE_PER_IP = 3
    for number in range(3):
        await request_reset(app_a, f"user{number}@example.com")
    response = await app_a.request("POST", "/verificationEmailRequest", {"email": "user9@example.com"})
    assert response.status_code == 429
    assert response.headers["retry-after"] == "60"
