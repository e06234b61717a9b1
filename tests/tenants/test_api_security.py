"""Password guessing at POST /api/v1/auth/token, and the lifetime of personal access tokens."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from tenants.models import PersonalAccessToken
from tenants.services import access_token_create
from tests.conftest import PASSWORD, Tenant
from tests.tenants.conftest import API

pytestmark = pytest.mark.django_db
LOCKED = {"code": "throttled", "detail": "Too many failed sign-in attempts. Try again in 15 minutes."}
INVALID = {"code": "invalid", "detail": "Invalid email or password.", "field": None}


def exchange(email: str, password: str, **extra: str) -> tuple[int, dict]:
    response = APIClient().post(
        f"{API}/auth/token", {"email": email, "password": password, "name": "cli"}, format="json", **extra
    )
    return response.status_code, response.json()


def test_a_new_x_forwarded_for_per_request_does_not_reset_the_throttle(db) -> None:
    """Without HANGAR_TRUSTED_PROXIES the header is the client's own words: the budget stays the peer's."""
    statuses = [exchange(f"guess{n}@example.com", "wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")[0] for n in range(12)]
    assert statuses == [400] * 10 + [429, 429]


def test_behind_a_trusted_proxy_the_client_it_saw_is_throttled(db, settings) -> None:
    settings.HANGAR_TRUSTED_PROXIES = ["127.0.0.1/32"]  # the test client's REMOTE_ADDR
    statuses = [
        exchange(f"guess{n}@example.com", "wrong", HTTP_X_FORWARDED_FOR=f"6.6.6.{n}, 203.0.113.5")[0] for n in range(11)
    ]
    assert statuses == [400] * 10 + [429]
    # Another client behind the same proxy has its own budget.
    assert exchange("other@example.com", "wrong", HTTP_X_FORWARDED_FOR="203.0.113.6")[0] == 400


def test_an_account_is_locked_after_repeated_wrong_passwords(tenant_a: Tenant, settings) -> None:
    settings.HANGAR_DEVELOPER_LOCKOUT_THRESHOLD = 3
    answers = [
        exchange("alice@example.com", "wrong-password", REMOTE_ADDR=f"198.51.100.{n}") for n in range(3)
    ]  # from three addresses: the count is the account's
    assert answers == [(400, INVALID)] * 3
    response = APIClient().post(
        f"{API}/auth/token", {"email": "ALICE@example.com", "password": PASSWORD, "name": "cli"}, format="json"
    )
    assert (response.status_code, response.json()) == (429, LOCKED)
    assert response["Retry-After"] == "900"
    assert not PersonalAccessToken.objects.filter(developer=tenant_a.developer).exists()


def test_a_successful_sign_in_starts_the_count_again(tenant_a: Tenant, settings) -> None:
    settings.HANGAR_DEVELOPER_LOCKOUT_THRESHOLD = 3
    assert [exchange("alice@example.com", "wrong")[0] for _ in range(2)] == [400, 400]
    assert exchange("alice@example.com", PASSWORD)[0] == 201
    assert [exchange("alice@example.com", "wrong")[0] for _ in range(2)] == [400, 400]
    assert exchange("alice@example.com", PASSWORD)[0] == 201


def test_an_unknown_email_answers_and_locks_like_a_real_one(tenant_a: Tenant, settings) -> None:
    """Neither the answers nor the moment of lockout tell whether an account exists."""
    settings.HANGAR_DEVELOPER_LOCKOUT_THRESHOLD = 2
    real = [exchange("alice@example.com", "wrong") for _ in range(3)]
    unknown = [exchange("nobody@example.com", "wrong") for _ in range(3)]
    assert real == unknown == [(400, INVALID), (400, INVALID), (429, LOCKED)]


def test_an_address_is_locked_after_wrong_passwords_for_many_accounts(tenant_a: Tenant, settings) -> None:
    settings.HANGAR_DEVELOPER_LOCKOUT_ADDRESS_THRESHOLD = 4
    settings.HANGAR_DEVELOPER_LOCKOUT_THRESHOLD = 100
    sprayed = [exchange(f"victim{n}@example.com", "Summer2026!")[0] for n in range(4)]
    assert sprayed == [400] * 4
    assert exchange("alice@example.com", PASSWORD) == (429, LOCKED)
    assert exchange("alice@example.com", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.77") == (429, LOCKED)
    assert exchange("alice@example.com", PASSWORD, REMOTE_ADDR="198.51.100.20")[0] == 201


# Personal access token lifetime


def bearer(plain: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    return client


def lifetime(body: dict) -> timedelta:
    return parse_datetime(body["expires_at"]) - timezone.now()


@pytest.mark.parametrize("days", [None, 0, -1, 366, 3650])
def test_a_token_that_never_expires_or_lives_too_long_is_refused(alice: APIClient, days) -> None:
    response = alice.post(f"{API}/tokens", {"name": "forever", "expires_in_days": days}, format="json")
    assert (response.status_code, response.json()["field"]) == (400, "expires_in_days")
    assert not PersonalAccessToken.objects.filter(name="forever").exists()


def test_null_expiry_is_refused_with_a_clear_message(alice: APIClient) -> None:
    response = alice.post(f"{API}/tokens", {"name": "forever", "expires_in_days": None}, format="json")
    assert "always expire" in response.json()["detail"]


def test_the_longest_allowed_lifetime_is_accepted(tenant_a: Tenant, settings) -> None:
    alice = APIClient()
    alice.force_login(tenant_a.developer)  # a session: no creating token to outlive
    response = alice.post(f"{API}/tokens", {"name": "yearly", "expires_in_days": 365}, format="json")
    assert response.status_code == 201
    assert timedelta(days=364) < lifetime(response.json()) <= timedelta(days=365)
    settings.HANGAR_ACCESS_TOKEN_MAX_DAYS = 30
    shorter = alice.post(f"{API}/tokens", {"name": "monthly", "expires_in_days": 31}, format="json")
    assert shorter.json()["detail"] == "Expiry must be between 1 and 30 days."


def test_the_token_exchange_gives_the_default_lifetime_and_refuses_a_longer_one(tenant_a: Tenant) -> None:
    status, body = exchange("alice@example.com", PASSWORD)
    assert status == 201
    assert timedelta(days=89) < lifetime(body) <= timedelta(days=90)
    response = APIClient().post(
        f"{API}/auth/token",
        {"email": "alice@example.com", "password": PASSWORD, "name": "cli", "expires_in_days": 400},
        format="json",
    )
    assert (response.status_code, response.json()["field"]) == (400, "expires_in_days")


def test_a_token_cannot_mint_a_token_that_outlives_it(tenant_a: Tenant) -> None:
    parent, plain = access_token_create(developer=tenant_a.developer, name="short", expires_in_days=5)
    client = bearer(plain)
    defaulted = client.post(f"{API}/tokens", {"name": "child"}, format="json")
    assert defaulted.status_code == 201
    assert parse_datetime(defaulted.json()["expires_at"]) == parent.expires_at
    longer = client.post(f"{API}/tokens", {"name": "longer", "expires_in_days": 30}, format="json")
    assert (longer.status_code, longer.json()["field"]) == (400, "expires_in_days")
    assert "outlive" in longer.json()["detail"]
    shorter = client.post(f"{API}/tokens", {"name": "shorter", "expires_in_days": 2}, format="json")
    assert shorter.status_code == 201
    # The child dies with the parent's lifetime: it cannot be used to renew itself either.
    grandchild = bearer(defaulted.json()["token"]).post(f"{API}/tokens", {"name": "again"}, format="json")
    assert parse_datetime(grandchild.json()["expires_at"]) == parent.expires_at


def test_a_dashboard_session_creates_tokens_with_the_default_lifetime(tenant_a: Tenant) -> None:
    client = APIClient()
    client.force_login(tenant_a.developer)
    body = client.post(f"{API}/tokens", {"name": "from-browser"}, format="json").json()
    assert timedelta(days=89) < lifetime(body) <= timedelta(days=90)


def test_an_expired_token_is_refused(tenant_a: Tenant) -> None:
    token, plain = access_token_create(developer=tenant_a.developer, name="old", expires_in_days=1)
    PersonalAccessToken.objects.filter(pk=token.pk).update(expires_at=timezone.now())
    assert bearer(plain).get(f"{API}/me").status_code == 401
    assert bearer(plain).post(f"{API}/tokens", {"name": "renewal"}, format="json").status_code == 401


def test_parallel_guesses_beyond_the_threshold_are_not_checked(db, settings) -> None:
    """Attempts are counted before the password is checked, so a burst cannot race past the lockout."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    settings.HANGAR_DEVELOPER_LOCKOUT_THRESHOLD = 3
    settings.HANGAR_DEVELOPER_LOCKOUT_ADDRESS_THRESHOLD = 0

    def guess(n: int) -> int:
        try:
            return exchange("target@example.com", f"guess-{n}", REMOTE_ADDR=f"198.51.100.{n}")[0]
        finally:
            connection.close()  # each thread has its own connection

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(guess, range(8)))
    assert sorted(statuses) == [400] * 3 + [429] * 5
