"""Identity's writes (sign-up, login, logout, lockout, email verification, password reset) go through the
datastore's write path: LiveQuery's change feed and the trigger hooks see each one, never an internal field."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import orjson
import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from hangar.caller import Caller
from hangar.datastore.change_feed import change_pattern, live_classes_set
from hangar.datastore.connection import after_commit, app_transaction
from hangar.datastore.hooks import TriggerHooks, hooks, install_hooks
from hangar.parse_errors import SCRIPT_FAILED, ParseError
from hangar.redis_async import get_redis
from tests.datastore.conftest import ParseApp
from tests.identity.conftest import auth_settings, sign_up, sql
from tests.identity.test_email_flows import page_path, submit_password

pytestmark = pytest.mark.django_db(transaction=True)
LINK = re.compile(r"https?://\S+/apps/\S+")


class Feed:
    """The app's change channel, as the realtime service reads it."""

    def __init__(self, pubsub: Any) -> None:
        self.pubsub = pubsub
        self.raw: list[bytes] = []

    async def events(self) -> list[dict[str, Any]]:
        """Every event published since the last call."""
        found = []
        while (message := await self.pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5)) is not None:
            self.raw.append(message["data"])
            found.append(orjson.loads(message["data"]))
        return found


@pytest.fixture
async def feed(app_a: ParseApp) -> AsyncIterator[Feed]:
    app_pk = app_a.tenant.app.pk
    await live_classes_set(app_pk, ["_User", "_Session"])
    pubsub = get_redis().pubsub()
    await pubsub.psubscribe(change_pattern(app_pk))
    await pubsub.get_message(timeout=1)  # the subscribe confirmation
    try:
        yield Feed(pubsub)
    finally:
        await pubsub.aclose()
        await live_classes_set(app_pk, [])


class CountingHooks(TriggerHooks):
    """Records every write hook call, with what it was shown."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any] | str]] = []

    async def before_save(
        self, *, caller: Caller, class_name: str, data: dict[str, Any], original: dict[str, Any] | None
    ) -> dict[str, Any]:
        self.calls.append(("before_save", class_name, dict(data)))
        return data

    async def after_save(
        self, *, caller: Caller, class_name: str, obj: dict[str, Any], original: dict[str, Any] | None
    ) -> None:
        self.calls.append(("after_save", class_name, obj))

    async def before_delete(self, *, caller: Caller, class_name: str, object_id: str) -> None:
        self.calls.append(("before_delete", class_name, object_id))

    async def after_delete(self, *, caller: Caller, class_name: str, obj: dict[str, Any]) -> None:
        self.calls.append(("after_delete", class_name, obj))

    def take(self) -> list[tuple[str, str]]:
        """The (hook, class) pairs called since the last take; asserts no hook was shown an internal field."""
        for _, _, shown in self.calls:
            if isinstance(shown, dict):
                assert_no_internal_fields(shown)
        pairs = [(name, class_name) for name, class_name, _ in self.calls]
        self.calls.clear()
        return pairs


@pytest.fixture
def counting_hooks() -> Iterator[CountingHooks]:
    previous = hooks()
    counting = CountingHooks()
    install_hooks(counting)
    try:
        yield counting
    finally:
        install_hooks(previous)


def assert_no_internal_fields(obj: dict[str, Any] | None) -> None:
    if obj is None:
        return
    hidden = [key for key in obj if key.startswith("_") or key in {"password", "sessionToken"}]
    assert hidden == [], obj


def summary(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    for event in events:
        assert_no_internal_fields(event["object"])
        assert_no_internal_fields(event["original"])
    return [(event["className"], event["op"]) for event in events]


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).hexdigest().encode()


def mailed_link(mailoutbox: list[Any]) -> str:
    match = LINK.search(mailoutbox[-1].body)
    assert match
    return page_path(match.group(0))


async def test_sign_up_login_and_logout_publish_the_user_and_session_changes(app_a: ParseApp, feed: Feed) -> None:
    ada = await sign_up(app_a, "ada", "pw-secret-1", email="ada@example.com")
    events = await feed.events()
    assert summary(events) == [("_User", "create"), ("_Session", "create")]
    user_event, session_event = events
    assert user_event["object"]["username"] == "ada"
    assert session_event["object"]["user"]["objectId"] == ada["objectId"]
    assert session_event["object"]["createdWith"] == {"action": "signup", "authProvider": "password"}
    # Only the session's owner may receive it: a LiveQuery subscriber of another user gets nothing.
    assert session_event["readersAfter"] == [ada["objectId"]]

    login = await app_a.request("POST", "/login", {"username": "ada", "password": "pw-secret-1"})
    assert login.status_code == 200
    token = login.json()["sessionToken"]
    [session_event] = await feed.events()
    assert (session_event["className"], session_event["op"]) == ("_Session", "create")
    assert session_event["readersAfter"] == [ada["objectId"]]
    assert_no_internal_fields(session_event["object"])

    logout = await app_a.request("POST", "/logout", session=token)
    assert logout.status_code == 200
    [deleted] = await feed.events()
    assert (deleted["className"], deleted["op"]) == ("_Session", "delete")
    assert deleted["original"]["objectId"] == session_event["object"]["objectId"]
    assert deleted["readersBefore"] == [ada["objectId"]]
    assert_no_internal_fields(deleted["original"])
    # Neither the tokens nor their digests nor the password hash ever reach the feed.
    raw = b"".join(feed.raw)
    for secret in (ada["sessionToken"], token):
        assert secret.encode() not in raw
        assert digest(secret) not in raw
    assert b"argon2" not in raw
    assert b"pw-secret-1" not in raw


async def test_another_users_login_is_published_only_to_that_user(app_a: ParseApp, feed: Feed) -> None:
    ada = await sign_up(app_a, "ada")
    bob = await sign_up(app_a, "bob")
    await feed.events()
    await app_a.request("POST", "/login", {"username": "bob", "password": "pw-secret-1"})
    [event] = await feed.events()
    assert event["object"]["user"]["objectId"] == bob["objectId"]
    assert event["readersAfter"] == [bob["objectId"]]
    assert ada["objectId"] not in event["readersAfter"]
    assert "*" not in event["readersAfter"]


async def test_wrong_passwords_and_the_lockout_go_through_the_write_path(
    app_a: ParseApp, feed: Feed, counting_hooks: CountingHooks
) -> None:
    await auth_settings(app_a.tenant, lockout_threshold=3, lockout_minutes=5)
    ada = await sign_up(app_a, "ada", "pw-secret-1")
    await feed.events()
    counting_hooks.take()
    wrong = await app_a.request("POST", "/login", {"username": "ada", "password": "wrong-1"})
    assert wrong.status_code == 404
    # Only the hidden counter changed: hooks see the write, listeners get no event that would only say
    # "someone typed a wrong password for this user".
    assert counting_hooks.take() == [("after_save", "_User")]
    assert await feed.events() == []
    counted = await sql(
        "SELECT data->>'_failed_login_count' FROM datastore_object WHERE object_id = %s", [ada["objectId"]]
    )
    assert counted == [("1",)]

    login = await app_a.request("POST", "/login", {"username": "ada", "password": "pw-secret-1"})
    assert login.status_code == 200
    assert summary(await feed.events()) == [("_Session", "create")]
    # The count's reset is a write too.
    assert counting_hooks.take() == [("before_save", "_Session"), ("after_save", "_User"), ("after_save", "_Session")]


async def test_email_verification_publishes_the_verified_user(
    app_a: ParseApp, feed: Feed, counting_hooks: CountingHooks, mailoutbox: list[Any]
) -> None:
    await auth_settings(app_a.tenant, verify_user_emails=True)
    ada = await sign_up(app_a, "ada", email="ada@example.com")
    # The user and the first session; storing the verification token's digest is a (hidden) write too.
    assert summary(await feed.events()) == [("_User", "create"), ("_Session", "create")]
    assert [name for name, _ in counting_hooks.take()].count("after_save") == 3

    page = await sync_to_async(Client().get)(mailed_link(mailoutbox))
    assert page.status_code == 200
    [verified] = await feed.events()
    assert (verified["className"], verified["op"]) == ("_User", "update")
    assert (verified["original"]["emailVerified"], verified["object"]["emailVerified"]) == (False, True)
    assert verified["object"]["objectId"] == ada["objectId"]
    assert verified["readersAfter"] == [ada["objectId"]]
    assert counting_hooks.take() == [("after_save", "_User")]
    assert b"_email_verify" not in b"".join(feed.raw)


async def test_password_reset_publishes_the_user_and_the_revoked_sessions(
    app_a: ParseApp, feed: Feed, counting_hooks: CountingHooks, mailoutbox: list[Any]
) -> None:
    ada = await sign_up(app_a, "ada", "old-secret-1", email="ada@example.com")
    second = await app_a.request("POST", "/login", {"username": "ada", "password": "old-secret-1"})
    await feed.events()
    counting_hooks.take()

    requested = await app_a.request("POST", "/requestPasswordReset", {"email": "ada@example.com"})
    assert requested.status_code == 200
    assert await feed.events() == []  # the reset token's digest: hidden
    assert counting_hooks.take() == [("after_save", "_User")]

    changed = await submit_password(Client(), mailed_link(mailoutbox), "new-secret-2")
    assert changed.status_code == 200
    events = await feed.events()
    assert summary(events) == [("_User", "update"), ("_Session", "delete"), ("_Session", "delete")]
    assert {event["readersBefore"][0] for event in events[1:]} == {ada["objectId"]}
    hook_calls = counting_hooks.take()
    assert sorted(hook_calls) == sorted(
        [("after_save", "_User")] + [("before_delete", "_Session"), ("after_delete", "_Session")] * 2
    )
    raw = b"".join(feed.raw)
    for leaked in (b"_perishable", b"argon2", b"new-secret-2"):
        assert leaked not in raw
    for token in (ada["sessionToken"], second.json()["sessionToken"]):
        assert (await app_a.request("GET", "/users/me", session=token)).json()["code"] == 209


async def test_without_listeners_identity_writes_publish_nothing(app_a: ParseApp) -> None:
    pubsub = get_redis().pubsub()
    await pubsub.psubscribe(change_pattern(app_a.tenant.app.pk))
    await pubsub.get_message(timeout=1)
    await sign_up(app_a, "ada")
    await app_a.request("POST", "/login", {"username": "ada", "password": "pw-secret-1"})
    assert await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5) is None
    await pubsub.aclose()


class RefusingDelete(CountingHooks):
    async def before_delete(self, *, caller: Caller, class_name: str, object_id: str) -> None:
        raise ParseError(SCRIPT_FAILED, "logout refused by the hook")


async def test_a_refused_logout_rolls_back_and_publishes_nothing(app_a: ParseApp, feed: Feed) -> None:
    """Events wait for the commit of the unit that wrote them: a hook refusing the delete leaves the session live."""
    ada = await sign_up(app_a, "ada")
    await feed.events()
    previous = hooks()
    install_hooks(RefusingDelete())
    try:
        refused = await app_a.request("POST", "/logout", session=ada["sessionToken"])
    finally:
        install_hooks(previous)
    assert refused.json() == {"code": SCRIPT_FAILED, "error": "logout refused by the hook"}
    assert await feed.events() == []
    assert (await app_a.request("GET", "/users/me", session=ada["sessionToken"])).status_code == 200


async def test_after_commit_work_inside_a_transaction_waits_for_its_commit(app_a: ParseApp) -> None:
    ran: list[str] = []

    async def work() -> None:
        ran.append("work")

    async with app_transaction(app_a.tenant.app.pk):
        await after_commit(work)
        assert ran == []  # not before the commit
    assert ran == ["work"]

    async def rolled_back() -> None:
        async with app_transaction(app_a.tenant.app.pk):
            await after_commit(work)
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError):
        await rolled_back()
    assert ran == ["work"]  # never after a rollback


async def test_a_created_session_is_published_and_takes_custom_fields_only(
    app_a: ParseApp, feed: Feed, counting_hooks: CountingHooks
) -> None:
    ada = await sign_up(app_a, "ada")
    await feed.events()
    counting_hooks.take()
    for bad in ({"_session_token_hash": "0" * 64}, {"_other": 1}, {"objectId": "fakeId1234"}, {"a.b": 1}):
        refused = await app_a.request("POST", "/sessions", bad, session=ada["sessionToken"])
        assert refused.json()["code"] == 105, bad
    assert await feed.events() == []
    created = await app_a.request(
        "POST", "/sessions", {"device": "tv", "createdAt": "1999-01-01T00:00:00.000Z"}, session=ada["sessionToken"]
    )
    assert created.status_code == 201
    [event] = await feed.events()
    assert (event["className"], event["op"], event["object"]["device"]) == ("_Session", "create", "tv")
    assert event["object"]["objectId"] == created.json()["objectId"]
    assert event["object"]["createdAt"] != "1999-01-01T00:00:00.000Z"
    assert event["readersAfter"] == [ada["objectId"]]
    assert counting_hooks.take() == [("before_save", "_Session"), ("after_save", "_Session")]
    mine = (await app_a.request("GET", "/sessions", session=ada["sessionToken"])).json()["results"]
    assert created.json()["objectId"] in {s["objectId"] for s in mine}


async def test_a_login_from_the_same_installation_revokes_the_replaced_session_at_once(
    app_a: ParseApp, feed: Feed
) -> None:
    """The replaced session is deleted through the write path: published, and refused at once (not after the
    token cache's 30 s)."""
    ada = await sign_up(app_a, "ada")
    headers = {**app_a.headers(), "X-Parse-Installation-Id": "inst-1"}
    credentials = orjson.dumps({"username": "ada", "password": "pw-secret-1"})
    first = (await app_a.client.post("/parse/login", content=credentials, headers=headers)).json()["sessionToken"]
    assert (await app_a.request("GET", "/users/me", session=first)).status_code == 200  # now cached
    await feed.events()
    second = await app_a.client.post("/parse/login", content=credentials, headers=headers)
    assert second.status_code == 200
    events = await feed.events()
    assert summary(events) == [("_Session", "delete"), ("_Session", "create")]
    assert events[0]["original"]["installationId"] == "inst-1"
    assert events[0]["readersBefore"] == [ada["objectId"]]
    assert (await app_a.request("GET", "/users/me", session=first)).json()["code"] == 209
    assert (await app_a.request("GET", "/users/me", session=second.json()["sessionToken"])).status_code == 200


async def test_password_change_and_user_delete_publish_the_sessions_they_revoke(
    app_a: ParseApp, feed: Feed, counting_hooks: CountingHooks
) -> None:
    ada = await sign_up(app_a, "ada")
    await feed.events()
    counting_hooks.take()
    changed = await app_a.request(
        "PUT", f"/users/{ada['objectId']}", {"password": "pw-secret-2"}, session=ada["sessionToken"]
    )
    assert changed.status_code == 200
    assert summary(await feed.events()) == [("_User", "update"), ("_Session", "delete"), ("_Session", "create")]
    assert sorted(counting_hooks.take()) == [
        ("after_delete", "_Session"), ("after_save", "_Session"), ("after_save", "_User"),
        ("before_delete", "_Session"), ("before_save", "_Session"),
    ]  # fmt: skip
    token = changed.json()["sessionToken"]
    deleted = await app_a.request("DELETE", f"/users/{ada['objectId']}", session=token)
    assert deleted.status_code == 200
    assert summary(await feed.events()) == [("_User", "delete"), ("_Session", "delete")]
    assert (await app_a.request("GET", "/users/me", session=token)).json()["code"] == 209
