"""Password work holds no database transaction, runs on a bounded pool, and every password check is rate limited.

The hashing functions are replaced at their seam (hangar.identity.passwords, the functions
the pool runs) by wrappers that look at ``pg_stat_activity`` or wait on an event, so the
tests observe what the database sees while a password is being hashed.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable
from typing import Any

import httpx
import psycopg
import pytest
from argon2 import PasswordHasher
from asgiref.sync import sync_to_async
from django.db import connection
from django.test import Client

from hangar.caller import Caller
from hangar.identity import passwords
from tests.datastore.conftest import ParseApp
from tests.identity.conftest import auth_settings, sign_up, sql

pytestmark = pytest.mark.django_db(transaction=True)
LOCKED = "Your account is locked due to multiple failed login attempts. Please try again after 5 minute(s)"
HASHING = [name for name in ("_hash", "_verify", "_verify_absent") if hasattr(passwords, name)]  # the pool's work
OPEN_TRANSACTIONS = (
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
    "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
)


def _observer_connect() -> psycopg.Connection:
    params = connection.settings_dict
    return psycopg.connect(
        dbname=params["NAME"], user=params["USER"], password=params["PASSWORD"] or None,
        host=params["HOST"] or None, port=params["PORT"] or None, autocommit=True,
    )  # fmt: skip


class TransactionWatch:
    """Wraps the hashing functions: each call first counts the database's open transactions."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, int]] = []

    def wrap(self, name: str, work: Callable[..., Any]) -> Callable[..., Any]:
        def watched(*args: Any, **kwargs: Any) -> Any:
            with _observer_connect() as observer:
                [(count,)] = observer.execute(OPEN_TRANSACTIONS).fetchall()
            self.seen.append((name, count))
            return work(*args, **kwargs)

        return watched


@pytest.fixture
def watch(monkeypatch: pytest.MonkeyPatch) -> TransactionWatch:
    watcher = TransactionWatch()
    for name in HASHING:
        monkeypatch.setattr(passwords, name, watcher.wrap(name, getattr(passwords, name)))
    return watcher


class Gate:
    """Once closed, holds every hashing call until opened again; counts the calls held."""

    def __init__(self) -> None:
        self.opened = threading.Event()
        self.opened.set()
        self.entered = 0
        self._lock = threading.Lock()

    def close(self) -> None:
        self.entered = 0
        self.opened.clear()

    def wrap(self, work: Callable[..., Any]) -> Callable[..., Any]:
        def gated(*args: Any) -> Any:
            if not self.opened.is_set():
                with self._lock:
                    self.entered += 1
            assert self.opened.wait(30), "the gate was never opened"
            return work(*args)

        return gated

    async def wait_entered(self, count: int) -> None:
        for _ in range(500):
            if self.entered >= count:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"only {self.entered} of {count} hashing calls arrived")


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Any:
    held = Gate()
    for name in HASHING:
        monkeypatch.setattr(passwords, name, held.wrap(getattr(passwords, name)))
    yield held
    held.opened.set()  # never leave pool threads waiting for a test that failed


async def _forget_rate_counters(app: ParseApp) -> None:
    from hangar.redis_async import get_redis

    redis = get_redis()
    for prefix in ("loginrl", "signuprl"):
        stale = [key async for key in redis.scan_iter(f"hangar:{prefix}:{app.tenant.app.pk}:*")]
        if stale:
            await redis.delete(*stale)  # app ids repeat across test databases; the counters must not


async def _stored_hash(user_id: str) -> str:
    [(stored,)] = await sql("SELECT data->>'_hashed_password' FROM datastore_object WHERE object_id = %s", [user_id])
    return stored


# Finding 6: no transaction while hashing, a bounded pool -------------------------------


async def test_no_transaction_is_open_while_a_password_is_hashed_or_verified(
    app_a: ParseApp, watch: TransactionWatch
) -> None:
    await auth_settings(app_a.tenant, lockout_threshold=5, password_history=2)
    ada = await sign_up(app_a, "ada")
    await app_a.request("POST", "/classes/_User", {"username": "ben", "password": "pw-secret-2"})
    assert (await app_a.request("POST", "/login", {"username": "ada", "password": "pw-secret-1"})).status_code == 200
    assert (await app_a.request("POST", "/login", {"username": "ada", "password": "wrong"})).status_code == 404
    assert (await app_a.request("POST", "/login", {"username": "nobody", "password": "x"})).status_code == 404
    verified = await app_a.request("GET", "/verifyPassword", params={"username": "ada", "password": "pw-secret-1"})
    assert verified.status_code == 200
    changed = await app_a.request(
        "PUT", f"/users/{ada['objectId']}", {"password": "pw-secret-3"}, session=ada["sessionToken"]
    )
    assert changed.status_code == 200
    names = {name for name, _ in watch.seen}
    assert names == {"_hash", "_verify", "_verify_absent"}
    assert len(watch.seen) >= 8
    assert [count for _, count in watch.seen] == [0] * len(watch.seen)


async def test_password_reset_hashes_outside_the_transaction(app_a: ParseApp, watch: TransactionWatch) -> None:
    from hangar.datastore.connection import app_transaction
    from hangar.identity import email_flows, users

    ada = await sign_up(app_a, "ada", email="ada@example.com")
    async with app_transaction(app_a.tenant.app.pk) as conn:
        token = await email_flows.token_issue(
            conn, caller=Caller(app_pk=app_a.tenant.app.pk, is_master=True), user_id=ada["objectId"],
            kind=email_flows.RESET, minutes=60,
        )  # fmt: skip
    watch.seen.clear()
    assert (
        await users.password_reset_complete(app_pk=app_a.tenant.app.pk, token=token, new_password="new-pw-1") == "ada"
    )
    assert watch.seen == [("_hash", 0)]
    with pytest.raises(Exception, match="invalid or has expired"):
        await users.password_reset_complete(app_pk=app_a.tenant.app.pk, token=token, new_password="new-pw-2")
    assert (await app_a.request("POST", "/login", {"username": "ada", "password": "new-pw-1"})).status_code == 200


async def test_mail_is_queued_after_the_transaction_ends(
    app_a: ParseApp, monkeypatch: pytest.MonkeyPatch, mailoutbox: Any
) -> None:
    """Publishing a mail task is network I/O: sign-up, email change and both email requests do it with no
    transaction open."""
    from hangar.identity.tasks import user_email_send

    watcher = TransactionWatch()
    monkeypatch.setattr(user_email_send, "delay", watcher.wrap("delay", user_email_send.delay))
    await auth_settings(app_a.tenant, verify_user_emails=True)
    ada = await sign_up(app_a, "ada", email="ada@example.com")
    await app_a.request("PUT", f"/users/{ada['objectId']}", {"email": "ada2@example.com"}, session=ada["sessionToken"])
    await app_a.request("POST", "/verificationEmailRequest", {"email": "ada2@example.com"})
    await app_a.request("POST", "/requestPasswordReset", {"email": "ada2@example.com"})
    assert watcher.seen == [("delay", 0)] * 4
    assert len(mailoutbox) == 4


async def test_another_apps_read_completes_while_logins_are_hashing(
    app_a: ParseApp, app_b: ParseApp, gate: Gate, settings: Any
) -> None:
    """More logins than the pool has connections, all stuck hashing, leave every connection free."""
    await _forget_rate_counters(app_a)
    await sign_up(app_a, "ada")
    assert (await app_b.request("POST", "/classes/Thing", {"n": 1}, master=True)).status_code == 201
    logins = settings.HANGAR_DB_POOL_MAX + 2
    settings.HANGAR_PASSWORD_HASH_THREADS = logins
    gate.close()
    tasks = [
        asyncio.create_task(app_a.request("POST", "/login", {"username": "ada", "password": "pw-secret-1"}))
        for _ in range(logins)
    ]
    try:
        await gate.wait_entered(logins)
        read = await asyncio.wait_for(app_b.request("GET", "/classes/Thing"), timeout=5)
        assert [thing["n"] for thing in read.json()["results"]] == [1]
        [(open_transactions,)] = await sql(OPEN_TRANSACTIONS)
        assert open_transactions == 0
    finally:
        gate.opened.set()
        answers = await asyncio.gather(*tasks)
    assert [answer.status_code for answer in answers] == [200] * logins


async def test_a_storm_beyond_the_hashing_queue_is_refused_not_queued(
    app_a: ParseApp, gate: Gate, settings: Any
) -> None:
    await _forget_rate_counters(app_a)
    await sign_up(app_a, "ada")
    settings.HANGAR_PASSWORD_HASH_THREADS = 1
    settings.HANGAR_PASSWORD_HASH_QUEUE = 1
    gate.close()
    body = {"username": "ada", "password": "pw-secret-1"}
    accepted = [asyncio.create_task(app_a.request("POST", "/login", body)) for _ in range(2)]
    try:
        await gate.wait_entered(1)
        await asyncio.sleep(0.2)  # the second login reaches the queue
        refused = await asyncio.wait_for(app_a.request("POST", "/login", body), timeout=5)
        assert refused.status_code == 429
        assert refused.json() == {"code": 100, "error": "Too many password checks in progress; try again shortly."}
    finally:
        gate.opened.set()
        answers = await asyncio.gather(*accepted)
    assert [answer.status_code for answer in answers] == [200, 200]
    assert (await app_a.request("POST", "/login", body)).status_code == 200  # the places were given back


async def test_parallel_guesses_cannot_slip_past_the_lockout(app_a: ParseApp, monkeypatch: pytest.MonkeyPatch) -> None:
    """The right password, checked while wrong guesses lock the account, still meets the lock."""
    await _forget_rate_counters(app_a)
    await auth_settings(app_a.tenant, lockout_threshold=2, lockout_minutes=5)
    await sign_up(app_a, "ada")
    release = threading.Event()
    verify = passwords._verify

    def held_when_right(stored: str, password: str) -> Any:
        if password == "pw-secret-1":
            assert release.wait(30)
        return verify(stored, password)

    monkeypatch.setattr(passwords, "_verify", held_when_right)
    right = asyncio.create_task(app_a.request("POST", "/login", {"username": "ada", "password": "pw-secret-1"}))
    try:
        await asyncio.sleep(0.2)
        wrong = [await app_a.request("POST", "/login", {"username": "ada", "password": "bad"}) for _ in range(2)]
        assert wrong[-1].json() == {"code": 101, "error": LOCKED}
    finally:
        release.set()
    assert (await right).json() == {"code": 101, "error": LOCKED}


async def test_a_transactional_batch_refuses_password_work(app_a: ParseApp, watch: TransactionWatch) -> None:
    assert (await app_a.request("POST", "/classes/Thing", {"n": 0}, master=True)).status_code == 201
    batch = {
        "transaction": True,
        "requests": [
            {"method": "POST", "path": "/parse/classes/Thing", "body": {"n": 1}},
            {"method": "POST", "path": "/parse/users", "body": {"username": "ada", "password": "pw-secret-1"}},
        ],
    }
    refused = await app_a.request("POST", "/batch", batch)
    assert refused.status_code == 400
    assert refused.json()["code"] == 119
    assert watch.seen == []
    things = (await app_a.request("GET", "/classes/Thing")).json()["results"]
    assert [thing["n"] for thing in things] == [0]  # the batch rolled back
    plain = await app_a.request("POST", "/batch", {"requests": batch["requests"]})
    assert [list(item) for item in plain.json()] == [["success"], ["success"]]
    assert [count for _, count in watch.seen] == [0]


# Argon2 parameters -----------------------------------------------------------------------


async def test_new_hashes_use_the_owasp_baseline_and_old_ones_are_rehashed_at_login(
    app_a: ParseApp, settings: Any
) -> None:
    ada = await sign_up(app_a, "ada")
    assert (await _stored_hash(ada["objectId"])).startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    old = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4).hash("old-pw-1")  # argon2-cffi's defaults
    await sql(
        "UPDATE datastore_object SET data = jsonb_set(data, '{_hashed_password}', to_jsonb(%s::text)) "
        "WHERE object_id = %s",
        [old, ada["objectId"]],
    )
    assert (await app_a.request("POST", "/login", {"username": "ada", "password": "wrong"})).status_code == 404
    assert await _stored_hash(ada["objectId"]) == old  # a wrong password rehashes nothing
    assert (await app_a.request("POST", "/login", {"username": "ada", "password": "old-pw-1"})).status_code == 200
    assert (await _stored_hash(ada["objectId"])).startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert (await app_a.request("POST", "/login", {"username": "ada", "password": "old-pw-1"})).status_code == 200
    settings.HANGAR_PASSWORD_ARGON2_TIME_COST = 3  # a deployment that raises the cost
    assert (await app_a.request("POST", "/login", {"username": "ada", "password": "old-pw-1"})).status_code == 200
    assert (await _stored_hash(ada["objectId"])).startswith("$argon2id$v=19$m=19456,t=3,p=1$")


# Sign-up rate limit ----------------------------------------------------------------------


async def test_sign_up_is_rate_limited_per_ip_whatever_the_route(app_a: ParseApp, settings: Any) -> None:
    await _forget_rate_counters(app_a)
    settings.HANGAR_SIGNUP_RATE_PER_IP = 2
    await sign_up(app_a, "ada")
    assert (await app_a.request("POST", "/classes/_User", {"username": "ben", "password": "pw"})).status_code == 201
    over = await app_a.request("POST", "/users", {"username": "cy", "password": "pw"})
    assert (over.status_code, over.json()) == (429, {"code": 100, "error": "Too many requests."})
    again = await app_a.request("POST", "/classes/_User", {"username": "cy", "password": "pw"})
    assert again.status_code == 429
    batched = await app_a.request(
        "POST", "/batch", {"requests": [{"method": "POST", "path": "/parse/users", "body": {"username": "cy"}}]}
    )
    assert batched.json()[0]["error"]["code"] == 100
    assert (await app_a.request("POST", "/users", {"username": "cy", "password": "pw"}, master=True)).status_code == 201
    names = await app_a.request("GET", "/users", master=True)
    assert sorted(user["username"] for user in names.json()["results"]) == ["ada", "ben", "cy"]


# Finding 7: /verifyPassword shares the login limits and the lockout ----------------------


async def test_verify_password_counts_against_the_login_rate_limits(app_a: ParseApp, settings: Any) -> None:
    await _forget_rate_counters(app_a)
    settings.HANGAR_LOGIN_RATE_PER_USERNAME = 3
    await sign_up(app_a, "ada")
    wrong = {"username": "ada", "password": "x"}
    statuses = [(await app_a.request("GET", "/verifyPassword", params=wrong)).status_code for _ in range(2)]
    statuses.append((await app_a.request("POST", "/verifyPassword", wrong)).status_code)
    assert statuses == [404, 404, 404]
    right = {"username": "ada", "password": "pw-secret-1"}
    limited = await app_a.request("POST", "/login", right)
    assert (limited.status_code, limited.json()) == (429, {"code": 100, "error": "Too many requests."})
    assert (await app_a.request("GET", "/verifyPassword", params=right)).status_code == 429
    batched = await app_a.request(
        "POST", "/batch", {"requests": [{"method": "POST", "path": "/parse/verifyPassword", "body": right}]}
    )
    assert batched.json() == [{"error": {"code": 100, "error": "Too many requests."}}]


async def test_wrong_passwords_through_verify_password_lock_the_account(app_a: ParseApp) -> None:
    await _forget_rate_counters(app_a)
    await auth_settings(app_a.tenant, lockout_threshold=3, lockout_minutes=5)
    await sign_up(app_a, "ada")
    answers = [
        await app_a.request("GET", "/verifyPassword", params={"username": "ada", "password": "bad"}) for _ in range(3)
    ]
    assert [a.json()["error"] for a in answers] == ["Invalid username/password.", "Invalid username/password.", LOCKED]
    login = await app_a.request("POST", "/login", {"username": "ada", "password": "pw-secret-1"})
    assert login.json() == {"code": 101, "error": LOCKED}
    verify = await app_a.request("POST", "/verifyPassword", {"username": "ada", "password": "pw-secret-1"})
    assert verify.json() == {"code": 101, "error": LOCKED}


# Finding 13: /verificationEmailRequest ---------------------------------------------------

LINK = re.compile(r"https?://\S+/verify_email\?token=(\S+)")


def _verify_tokens(outbox: list[Any]) -> list[str]:
    return [match.group(1) for mail in outbox if (match := LINK.search(mail.body))]


async def _request_verification(app: ParseApp, email: str) -> httpx.Response:
    return await app.request("POST", "/verificationEmailRequest", {"email": email})


async def test_verification_request_sends_nothing_when_the_app_does_not_verify(
    app_a: ParseApp, mailoutbox: Any
) -> None:
    await sign_up(app_a, "ada", email="ada@example.com")
    known = await _request_verification(app_a, "ada@example.com")
    unknown = await _request_verification(app_a, "nobody@example.com")
    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json()) == (200, {})
    assert mailoutbox == []


async def test_verification_request_answers_the_same_for_every_email(app_a: ParseApp, mailoutbox: Any) -> None:
    await auth_settings(app_a.tenant, verify_user_emails=True)
    await sign_up(app_a, "ada", email="ada@example.com")
    await sign_up(app_a, "ben", email="ben@example.com")
    [ben_token] = _verify_tokens([m for m in mailoutbox if "ben@example.com" in m.to])
    page = await sync_to_async(Client().get)(f"/apps/{app_a.tenant.application_id}/verify_email?token={ben_token}")
    assert page.status_code == 200  # ben is verified now
    mailoutbox.clear()
    answers = [await _request_verification(app_a, email) for email in ("nobody@example.com", "ben@example.com")]
    assert [(a.status_code, a.json()) for a in answers] == [(200, {}), (200, {})]
    assert mailoutbox == []
    unverified = await _request_verification(app_a, "ADA@example.com")
    assert (unverified.status_code, unverified.json()) == (200, {})
    assert [m.to for m in mailoutbox] == [["ada@example.com"]]
    assert (await _request_verification(app_a, "")).json()["code"] == 204


async def test_verification_token_reuse_if_valid(app_a: ParseApp, mailoutbox: Any) -> None:
    """With reuse on, a new request mails the still-valid link again without extending it; off, a new link."""
    await auth_settings(app_a.tenant, verify_user_emails=True, email_verify_token_reuse_if_valid=True)
    ada = await sign_up(app_a, "ada", email="ada@example.com")
    [(expires,)] = await sql(
        "SELECT data->'_email_verify_token_expires_at' FROM datastore_object WHERE object_id = %s", [ada["objectId"]]
    )
    await _request_verification(app_a, "ada@example.com")
    first, second = _verify_tokens(mailoutbox)
    assert first == second
    [(expires_after,)] = await sql(
        "SELECT data->'_email_verify_token_expires_at' FROM datastore_object WHERE object_id = %s", [ada["objectId"]]
    )
    assert expires_after == expires
    await sql(
        "UPDATE datastore_object SET data = jsonb_set(data, '{_email_verify_token_expires_at}', "
        '\'{"__type": "Date", "iso": "2000-01-01T00:00:00.000Z"}\') WHERE object_id = %s',
        [ada["objectId"]],
    )
    await _request_verification(app_a, "ada@example.com")
    assert _verify_tokens(mailoutbox)[-1] != first  # an expired link is not reused
    await auth_settings(app_a.tenant, email_verify_token_reuse_if_valid=False)
    await _request_verification(app_a, "ada@example.com")
    tokens = _verify_tokens(mailoutbox)
    assert tokens[-1] != tokens[-2]
