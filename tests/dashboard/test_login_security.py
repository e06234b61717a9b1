"""Password guessing at the dashboard's /login/ (and the admin's): lockout per email and per address."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD, Tenant

pytestmark = pytest.mark.django_db
LOCKED = "Too many failed sign-in attempts. Try again in 15 minutes."


def log_in(email: str, password: str, client: Client | None = None, **extra: str):
    client = client or Client()
    return client.post(reverse("dashboard:login"), {"username": email, "password": password}, **extra)


def outcome(response) -> tuple[int, list[str]]:
    """The status and the form's messages: everything the visitor sees of a refused attempt."""
    form = response.context["form"] if response.status_code != 302 else None
    return response.status_code, list(form.non_field_errors()) if form else []


def test_an_account_is_locked_after_wrong_passwords_from_any_address(tenant_a: Tenant, settings) -> None:
    settings.HANGAR_DEVELOPER_LOCKOUT_THRESHOLD = 3
    for n in range(3):
        assert log_in("alice@example.com", "wrong-password", REMOTE_ADDR=f"198.51.100.{n}").status_code == 200
    browser = Client()
    locked = log_in("Alice@Example.com", PASSWORD, browser, REMOTE_ADDR="198.51.100.99")
    assert outcome(locked) == (429, [LOCKED])
    assert browser.get(reverse("dashboard:home")).status_code == 302  # not signed in


def test_an_address_is_locked_after_wrong_passwords_for_many_accounts(tenant_a: Tenant, settings) -> None:
    settings.HANGAR_DEVELOPER_LOCKOUT_ADDRESS_THRESHOLD = 4
    settings.HANGAR_DEVELOPER_LOCKOUT_THRESHOLD = 100
    for n in range(4):
        log_in(f"victim{n}@example.com", "Summer2026!", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
    assert outcome(log_in("alice@example.com", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.200")) == (429, [LOCKED])
    assert log_in("alice@example.com", PASSWORD, REMOTE_ADDR="198.51.100.20").status_code == 302


def test_behind_a_trusted_proxy_each_client_has_its_own_count(tenant_a: Tenant, settings) -> None:
    settings.HANGAR_TRUSTED_PROXIES = ["127.0.0.1/32"]
    settings.HANGAR_DEVELOPER_LOCKOUT_ADDRESS_THRESHOLD = 2
    settings.HANGAR_DEVELOPER_LOCKOUT_THRESHOLD = 100
    for n in range(2):
        log_in(f"victim{n}@example.com", "x", HTTP_X_FORWARDED_FOR=f"6.6.6.{n}, 203.0.113.5")
    assert log_in("alice@example.com", PASSWORD, HTTP_X_FORWARDED_FOR="6.6.6.9, 203.0.113.5").status_code == 429
    assert log_in("alice@example.com", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.6").status_code == 302


def test_a_successful_login_starts_the_count_again(tenant_a: Tenant, settings) -> None:
    settings.HANGAR_DEVELOPER_LOCKOUT_THRESHOLD = 3
    for _ in range(2):
        log_in("alice@example.com", "wrong")
    assert log_in("alice@example.com", PASSWORD).status_code == 302
    for _ in range(2):
        assert log_in("alice@example.com", "wrong").status_code == 200
    assert log_in("alice@example.com", PASSWORD).status_code == 302


def test_an_unknown_email_answers_and_locks_like_a_real_one(tenant_a: Tenant, settings) -> None:
    settings.HANGAR_DEVELOPER_LOCKOUT_THRESHOLD = 2
    real = [outcome(log_in("alice@example.com", "wrong")) for _ in range(3)]
    unknown = [outcome(log_in("nobody@example.com", "wrong")) for _ in range(3)]
    assert real == unknown
    assert [status for status, _ in real] == [200, 200, 429]
    assert real[2][1] == [LOCKED]


def test_a_deactivated_account_answers_like_a_wrong_password(tenant_a: Tenant) -> None:
    tenant_a.developer.is_active = False
    tenant_a.developer.save(update_fields=["is_active"])
    assert outcome(log_in("alice@example.com", PASSWORD)) == outcome(log_in("alice@example.com", "wrong"))


def test_the_admin_login_shares_the_lockout(tenant_a: Tenant, settings) -> None:
    tenant_a.developer.is_staff = True
    tenant_a.developer.save(update_fields=["is_staff"])
    settings.HANGAR_DEVELOPER_LOCKOUT_THRESHOLD = 2
    for _ in range(2):
        log_in("alice@example.com", "wrong")
    admin = Client().post(reverse("admin:login"), {"username": "alice@example.com", "password": PASSWORD})
    assert admin.status_code == 200
    assert LOCKED in admin.content.decode()
    # The admin's wrong passwords count too: one there and one here lock bob's email.
    Client().post(reverse("admin:login"), {"username": "bob@example.com", "password": "wrong"})
    assert log_in("bob@example.com", "wrong").status_code == 200
    assert outcome(log_in("bob@example.com", "wrong")) == (429, [LOCKED])
