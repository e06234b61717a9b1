"""Developer password reset by email: a single-use link, the same answer for unknown addresses."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD, Tenant

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-brand-new-passphrase-42"


def request_reset(client: Client, email: str) -> str:
    response = client.post(reverse("dashboard:password_reset"), {"email": email})
    return str(response.url)


def test_a_developer_resets_their_password_by_email(tenant_a: Tenant) -> None:
    browser = Client()
    assert request_reset(browser, tenant_a.developer.email) == reverse("dashboard:password_reset_done")
    [message] = mail.outbox
    assert message.to == [tenant_a.developer.email]
    link = re.search(r"https?://[^/]+(/password-reset/[^\s]+/)", message.body)
    assert link

    form_url = browser.get(link.group(1)).url  # Django moves the token out of the URL first
    done = browser.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    assert done.url == reverse("dashboard:password_reset_complete")
    assert Client().login(username=tenant_a.developer.email, password=NEW_PASSWORD)
    assert not Client().login(username=tenant_a.developer.email, password=PASSWORD)
    again = Client().get(link.group(1), follow=True).content.decode()
    assert 'id="reset-invalid"' in again, "the link works once"


def test_an_unknown_address_gets_the_same_answer_and_no_mail() -> None:
    assert request_reset(Client(), "nobody@example.com") == reverse("dashboard:password_reset_done")
    assert mail.outbox == []


def test_the_login_page_links_to_the_reset(client: Client) -> None:
    assert reverse("dashboard:password_reset") in client.get(reverse("dashboard:login")).content.decode()


def test_reset_mails_to_one_address_are_limited(tenant_a: Tenant) -> None:
    for _ in range(8):
        assert request_reset(Client(), tenant_a.developer.email) == reverse("dashboard:password_reset_done")

    assert len(mail.outbox) == 5
