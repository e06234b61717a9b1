"""Two-factor sign-in (TOTP) for developer accounts: enrol, log in with a code or a recovery code, the token door."""

from __future__ import annotations

import re

import pyotp
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from hangar.secretbox import decrypt_secret
from tenants.models import AuditEvent, DeveloperTotp
from tests.conftest import PASSWORD, Tenant

pytestmark = pytest.mark.django_db


def enrol(client: Client, tenant: Tenant) -> tuple[pyotp.TOTP, list[str]]:
    page = client.post(reverse("dashboard:totp_enrol")).content.decode()
    assert "<svg" in page, "a QR code to scan"
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page)
    assert secret
    totp = pyotp.TOTP(secret.group(1))
    done = client.post(reverse("dashboard:totp_confirm"), {"code": totp.now()}).content.decode()
    codes = re.findall(r"<li>([0-9a-f]{8}-[0-9a-f]{8})</li>", done)
    assert len(codes) == 10
    return totp, codes


def next_code(totp: pyotp.TOTP) -> str:
    """A code of the next time step (the current one was used by enrolment and is good only once)."""
    return totp.at(timezone.now().timestamp() + 30)


def log_in(client: Client, tenant: Tenant) -> str:
    response = client.post(reverse("dashboard:login"), {"username": tenant.developer.email, "password": PASSWORD})
    return str(response.url)


def test_enrolling_stores_the_secret_encrypted_and_turns_it_on(alice_client: Client, tenant_a: Tenant) -> None:
    totp, _codes = enrol(alice_client, tenant_a)

    stored = DeveloperTotp.objects.get(developer=tenant_a.developer)
    assert stored.confirmed_at is not None
    assert totp.secret not in stored.secret_ciphertext
    assert decrypt_secret(stored.secret_ciphertext) == totp.secret
    assert AuditEvent.objects.filter(action="account.totp_enable", actor=tenant_a.developer).exists()
    assert 'id="totp-on"' in alice_client.get(reverse("dashboard:account_security")).content.decode()


def test_a_wrong_first_code_does_not_turn_it_on(alice_client: Client, tenant_a: Tenant) -> None:
    alice_client.post(reverse("dashboard:totp_enrol"))

    response = alice_client.post(reverse("dashboard:totp_confirm"), {"code": "000000"})

    assert response.status_code == 400
    assert DeveloperTotp.objects.get(developer=tenant_a.developer).confirmed_at is None


def test_the_password_alone_no_longer_logs_in(alice_client: Client, tenant_a: Tenant) -> None:
    totp, _codes = enrol(alice_client, tenant_a)
    browser = Client()

    assert log_in(browser, tenant_a) == reverse("dashboard:login_code")
    assert browser.get(reverse("dashboard:home")).status_code == 302, "not logged in between the two steps"
    wrong = browser.post(reverse("dashboard:login_code"), {"code": "123456"})
    assert wrong.status_code == 400
    right = browser.post(reverse("dashboard:login_code"), {"code": next_code(totp)})
    assert right.url == "/"
    assert browser.get(reverse("dashboard:home")).status_code == 200


def test_a_code_is_good_only_once(alice_client: Client, tenant_a: Tenant) -> None:
    totp, _codes = enrol(alice_client, tenant_a)
    code = next_code(totp)
    first, second = Client(), Client()
    log_in(first, tenant_a)
    first.post(reverse("dashboard:login_code"), {"code": code})

    log_in(second, tenant_a)
    replay = second.post(reverse("dashboard:login_code"), {"code": code})

    assert replay.status_code == 400


def test_a_recovery_code_logs_in_once(alice_client: Client, tenant_a: Tenant) -> None:
    _totp, codes = enrol(alice_client, tenant_a)
    browser = Client()
    log_in(browser, tenant_a)
    assert browser.post(reverse("dashboard:login_code"), {"code": codes[0]}).status_code == 302

    again = Client()
    log_in(again, tenant_a)
    assert again.post(reverse("dashboard:login_code"), {"code": codes[0]}).status_code == 400


def test_too_many_wrong_codes_send_back_to_the_password(alice_client: Client, tenant_a: Tenant) -> None:
    totp, _codes = enrol(alice_client, tenant_a)
    browser = Client()
    log_in(browser, tenant_a)
    for _ in range(5):
        browser.post(reverse("dashboard:login_code"), {"code": "000000"})

    late = browser.post(reverse("dashboard:login_code"), {"code": next_code(totp)})

    assert late.url == reverse("dashboard:login")
    assert browser.get(reverse("dashboard:home")).status_code == 302


def test_the_token_exchange_needs_the_code_too(alice_client: Client, tenant_a: Tenant) -> None:
    totp, _codes = enrol(alice_client, tenant_a)
    api = APIClient()
    body = {"email": tenant_a.developer.email, "password": PASSWORD, "name": "cli"}

    refused = api.post("/api/v1/auth/token", body, format="json")
    assert refused.status_code in (401, 403)
    assert "otp" in refused.json()["detail"]
    granted = api.post("/api/v1/auth/token", {**body, "otp": next_code(totp)}, format="json")
    assert granted.status_code == 201


def test_turning_it_off_needs_a_code(alice_client: Client, tenant_a: Tenant) -> None:
    totp, _codes = enrol(alice_client, tenant_a)

    assert alice_client.post(reverse("dashboard:totp_disable"), {"code": "000000"}).status_code == 400
    assert DeveloperTotp.objects.filter(developer=tenant_a.developer).exists()
    alice_client.post(reverse("dashboard:totp_disable"), {"code": next_code(totp)})
    assert not DeveloperTotp.objects.filter(developer=tenant_a.developer).exists()
    assert log_in(Client(), tenant_a) == "/"


def test_one_developers_codes_do_not_open_another_account(
    alice_client: Client, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    _totp, alice_codes = enrol(alice_client, tenant_a)
    bob_client = Client()
    bob_client.force_login(tenant_b.developer)
    enrol(bob_client, tenant_b)
    browser = Client()

    log_in(browser, tenant_b)
    response = browser.post(reverse("dashboard:login_code"), {"code": alice_codes[0]})

    assert response.status_code == 400


def admin_log_in(tenant: Tenant, code: str | None = None) -> tuple[Client, int]:
    client = Client()
    data = {"username": tenant.developer.email, "password": PASSWORD, **({"code": code} if code is not None else {})}
    response = client.post(reverse("admin:login"), data)
    return client, response.status_code


def test_staff_with_totp_need_a_code_on_the_admin_login_too(alice_client: Client, tenant_a: Tenant) -> None:
    """The admin's one-step login asks for the code as well: no side door around the second step."""
    tenant_a.developer.is_staff = True
    tenant_a.developer.save(update_fields=["is_staff"])
    totp, codes = enrol(alice_client, tenant_a)

    for code in (None, "", "000000"):
        client, status = admin_log_in(tenant_a, code)
        assert status == 200, "the form comes back with an error"
        assert client.get(reverse("admin:index")).status_code == 302, "not signed in"
    client, status = admin_log_in(tenant_a, next_code(totp))
    assert status == 302
    assert client.get(reverse("admin:index")).status_code == 200
    client, status = admin_log_in(tenant_a, codes[0])
    assert status == 302, "a recovery code works once"
    assert admin_log_in(tenant_a, codes[0])[1] == 200


def test_wrong_admin_codes_are_limited_even_with_the_right_password(alice_client: Client, tenant_a: Tenant) -> None:
    tenant_a.developer.is_staff = True
    tenant_a.developer.save(update_fields=["is_staff"])
    totp, _codes = enrol(alice_client, tenant_a)
    for _ in range(5):
        admin_log_in(tenant_a, "123456")

    page = Client().post(
        reverse("admin:login"),
        {"username": tenant_a.developer.email, "password": PASSWORD, "code": next_code(totp)},
    )

    assert page.status_code == 200
    assert "Too many wrong two-factor codes" in page.content.decode()


def test_staff_without_totp_sign_in_to_the_admin_with_the_password_alone(tenant_a: Tenant) -> None:
    tenant_a.developer.is_staff = True
    tenant_a.developer.save(update_fields=["is_staff"])
    page = Client().get(reverse("admin:login")).content.decode()
    assert 'name="code"' in page
    client, status = admin_log_in(tenant_a)
    assert status == 302
    assert client.get(reverse("admin:index")).status_code == 200
