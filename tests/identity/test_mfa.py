"""Multi-factor sign-in through the Parse REST API (Parse Server's ``authData.mfa`` protocol), and its attacks."""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

import pyotp
import pytest

from tests.conftest import Tenant
from tests.datastore.conftest import ParseApp
from tests.identity.conftest import auth_settings, sign_up, sql
from tests.messaging.provider_doubles import ProviderDouble

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "pw-secret-1"


def _name() -> str:
    return f"u{secrets.token_hex(4)}"


def code_at(secret: str, steps_from_now: int) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_from_now)


async def _enrolled(app: ParseApp) -> tuple[dict[str, Any], str, list[str]]:
    """A signed-up user with a TOTP secret enrolled (with the previous step's code); its recovery codes."""
    username = _name()
    user = await sign_up(app, username, PASSWORD)
    user["username"] = username
    secret = pyotp.random_base32(32)
    answer = await app.request(
        "PUT", f"/users/{user['objectId']}", {"authData": {"mfa": {"secret": secret, "token": code_at(secret, -1)}}},
        session=user["sessionToken"],
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    recovery = answer.json()["authDataResponse"]["mfa"]["recovery"].split(", ")
    assert len(recovery) == 2
    return user, secret, recovery


async def _login(app: ParseApp, user: dict[str, Any], mfa: dict[str, Any] | None = None) -> Any:
    body: dict[str, Any] = {"username": user["username"], "password": PASSWORD}
    if mfa is not None:
        body["authData"] = {"mfa": mfa}
    return await app.request("POST", "/login", body)


@pytest.fixture
async def totp_app(app_a: ParseApp, tenant_a: Tenant) -> ParseApp:
    await auth_settings(tenant_a, mfa_options=["TOTP", "SMS"], mfa_digits=6, mfa_period=30, mfa_algorithm="SHA1")
    return app_a


async def test_totp_enrolment_then_login_needs_the_code(totp_app: ParseApp) -> None:
    user, secret, _ = await _enrolled(totp_app)
    missing = await _login(totp_app, user)
    assert (missing.status_code, missing.json()) == (400, {"code": -1, "error": "Missing additional authData mfa"})
    wrong = await _login(totp_app, user, {"token": "000000" if code_at(secret, 0) != "000000" else "111111"})
    assert wrong.json() == {"code": 141, "error": "Invalid MFA token"}
    answer = await _login(totp_app, user, {"token": code_at(secret, 0)})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["objectId"] == user["objectId"]
    assert body["sessionToken"]
    assert body["authData"] == {"mfa": {"status": "enabled"}}


async def test_a_code_works_once(totp_app: ParseApp, settings: Any) -> None:
    settings.HANGAR_MFA_RATE_PER_USER = 20
    user, secret, recovery = await _enrolled(totp_app)
    code = code_at(secret, 0)
    assert (await _login(totp_app, user, {"token": code})).status_code == 200
    replay = await _login(totp_app, user, {"token": code})
    assert replay.json() == {"code": 141, "error": "Invalid MFA token"}
    # The enrolment's own code (the previous step) is spent too.
    assert (await _login(totp_app, user, {"token": code_at(secret, -1)})).json()["code"] == 141
    assert (await _login(totp_app, user, {"token": recovery[0]})).status_code == 200
    assert (await _login(totp_app, user, {"token": recovery[0]})).json()["code"] == 141
    assert (await _login(totp_app, user, {"token": recovery[1]})).status_code == 200


async def test_guessing_codes_is_rate_limited(totp_app: ParseApp, settings: Any) -> None:
    settings.HANGAR_MFA_RATE_PER_USER = 3
    user, secret, _ = await _enrolled(totp_app)
    guesses = [f"{n:06d}" for n in range(10) if f"{n:06d}" not in {code_at(secret, s) for s in (-1, 0, 1)}]
    statuses = [(await _login(totp_app, user, {"token": guess})).status_code for guess in guesses[:3]]
    assert statuses == [400, 400, 429]  # the enrolment's code was the first of the three
    # Now even the right code waits for the next minute: the limit counts attempts, not failures.
    assert (await _login(totp_app, user, {"token": code_at(secret, 0)})).status_code == 429


async def test_the_secret_and_recovery_codes_are_never_returned(totp_app: ParseApp) -> None:
    user, secret, recovery = await _enrolled(totp_app)
    session = user["sessionToken"]
    reads = [
        await totp_app.request("GET", "/users/me", session=session),
        await totp_app.request("GET", f"/users/{user['objectId']}", session=session),
        await totp_app.request("GET", f"/classes/_User/{user['objectId']}", master=True),
        await totp_app.request("GET", "/classes/_User", master=True),
        await totp_app.request("GET", "/users", session=session),
    ]
    for answer in reads:
        assert answer.status_code == 200, answer.text
        text = answer.text
        assert secret not in text
        assert all(code not in text for code in recovery)
        assert "_mfa" not in text
    assert reads[0].json()["authData"] == {"mfa": {"status": "enabled"}}
    # Nor through a query on the internal fields.
    probe = await totp_app.request(
        "GET", "/classes/_User", params={"where": {"_mfa_totp": {"$exists": True}}}, master=True
    )
    assert probe.status_code == 400, probe.text  # 105: internal fields cannot be named
    # Stored: the secret encrypted, the recovery codes as digests.
    (data,) = (await sql("SELECT data FROM datastore_object WHERE object_id = %s", [user["objectId"]]))[0]
    assert secret not in str(data)
    assert all(code not in str(data) for code in recovery)


async def test_mfa_cannot_be_removed_or_replaced_without_a_code(totp_app: ParseApp) -> None:
    user, _secret, recovery = await _enrolled(totp_app)
    url, session = f"/users/{user['objectId']}", user["sessionToken"]
    unlink = await totp_app.request("PUT", url, {"authData": {"mfa": None}}, session=session)
    assert unlink.json()["code"] == -1
    delete_op = await totp_app.request("PUT", url, {"authData.mfa": {"__op": "Delete"}}, session=session)
    assert delete_op.json()["code"] == -1
    overwrite = await totp_app.request("PUT", url, {"authData.mfa.status": "disabled"}, session=session)
    assert overwrite.status_code == 400
    internal = await totp_app.request("PUT", url, {"_mfa_totp": None}, session=session)
    assert internal.status_code == 400
    other = pyotp.random_base32(32)
    replace = await totp_app.request(
        "PUT", url, {"authData": {"mfa": {"secret": other, "token": pyotp.TOTP(other).now(), "old": "123456"}}},
        session=session,
    )  # fmt: skip
    assert replace.json() == {"code": -1, "error": "Invalid MFA token"}
    assert (await _login(totp_app, user)).json()["code"] == -1  # still required
    # With a code: removed, and the next login needs none.
    disabled = await totp_app.request(
        "PUT", url, {"authData": {"mfa": {"old": recovery[0], "disable": True}}}, session=session
    )
    assert disabled.status_code == 200, disabled.text
    assert (await _login(totp_app, user)).status_code == 200


async def test_the_secret_can_be_changed_with_a_current_code(totp_app: ParseApp) -> None:
    user, secret, _ = await _enrolled(totp_app)
    new = pyotp.random_base32(32)
    answer = await totp_app.request(
        "PUT", f"/users/{user['objectId']}",
        {"authData": {"mfa": {"secret": new, "token": code_at(new, 0), "old": code_at(secret, 0)}}},
        session=user["sessionToken"],
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert (await _login(totp_app, user, {"token": code_at(secret, 1)})).json()["code"] == 141
    assert (await _login(totp_app, user, {"token": code_at(new, 1)})).status_code == 200


@pytest.mark.parametrize(
    ("mfa", "error"),
    [
        ({"secret": "SHORT", "token": "123456"}, "Invalid MFA data"),
        ({"secret": "!" * 32, "token": "123456"}, "Invalid MFA data"),
        ({"secret": "A" * 32, "token": "123456"}, "Invalid MFA token"),
        ({"mobile": "not a number"}, "Invalid mobile number."),
        ({"token": "123456"}, "Invalid MFA data"),
        ("text", "Invalid MFA data"),
    ],
)
async def test_bad_enrolments_are_refused(totp_app: ParseApp, mfa: Any, error: str) -> None:
    user = await sign_up(totp_app, _name(), PASSWORD)
    answer = await totp_app.request(
        "PUT", f"/users/{user['objectId']}", {"authData": {"mfa": mfa}}, session=user["sessionToken"]
    )
    assert answer.json() == {"code": -1, "error": error}


async def test_an_app_without_mfa_refuses_enrolment(app_a: ParseApp) -> None:
    user = await sign_up(app_a, _name(), PASSWORD)
    secret = pyotp.random_base32(32)
    answer = await app_a.request(
        "PUT", f"/users/{user['objectId']}", {"authData": {"mfa": {"secret": secret, "token": code_at(secret, 0)}}},
        session=user["sessionToken"],
    )  # fmt: skip
    assert answer.json()["code"] == 252


async def test_nobody_else_can_enrol_or_remove_a_users_mfa(
    totp_app: ParseApp, app_b: ParseApp, tenant_b: Tenant
) -> None:
    user, secret, recovery = await _enrolled(totp_app)
    mallory = await sign_up(totp_app, _name(), PASSWORD)
    url = f"/users/{user['objectId']}"
    as_other = await totp_app.request(
        "PUT", url, {"authData": {"mfa": {"old": recovery[0], "disable": True}}}, session=mallory["sessionToken"]
    )
    assert as_other.status_code == 400  # 206 Insufficient auth: only the user themself
    anonymous = await totp_app.request("PUT", url, {"authData": {"mfa": {"old": recovery[0], "disable": True}}})
    assert anonymous.status_code == 400
    # Another app: its users, its keys, nothing of app A's.
    await auth_settings(tenant_b, mfa_options=["TOTP"])
    assert (await app_b.request("PUT", url, {"authData": {"mfa": None}}, master=True)).status_code == 404
    cross = await app_b.request("POST", "/login", {"username": user["username"], "password": PASSWORD,
                                                   "authData": {"mfa": {"token": code_at(secret, 0)}}})  # fmt: skip
    assert cross.json()["code"] == 101
    assert (await _login(totp_app, user, {"token": recovery[0]})).status_code == 200  # not spent by the attempts


async def test_the_master_key_may_unlink_mfa(totp_app: ParseApp) -> None:
    user, _, _ = await _enrolled(totp_app)
    answer = await totp_app.request("PUT", f"/users/{user['objectId']}", {"authData": {"mfa": None}}, master=True)
    assert answer.status_code == 200, answer.text
    assert (await _login(totp_app, user)).status_code == 200


async def test_sign_up_with_mfa_alone_is_refused(totp_app: ParseApp) -> None:
    secret = pyotp.random_base32(32)
    answer = await totp_app.request(
        "POST", "/users", {"username": _name(), "password": PASSWORD,
                           "authData": {"mfa": {"secret": secret, "token": code_at(secret, 0)}}},
    )  # fmt: skip
    assert answer.json()["code"] == -1


async def test_an_anonymous_login_of_a_user_with_mfa_needs_the_code(totp_app: ParseApp) -> None:
    """The second factor guards every login method, not only the password."""
    anonymous_id = secrets.token_hex(8)
    created = await totp_app.request("POST", "/users", {"authData": {"anonymous": {"id": anonymous_id}}})
    assert created.status_code == 201, created.text
    user = created.json()
    secret = pyotp.random_base32(32)
    enrol = await totp_app.request(
        "PUT", f"/users/{user['objectId']}", {"authData": {"mfa": {"secret": secret, "token": code_at(secret, -1)}}},
        session=user["sessionToken"],
    )  # fmt: skip
    assert enrol.status_code == 200, enrol.text
    again = await totp_app.request("POST", "/users", {"authData": {"anonymous": {"id": anonymous_id}}})
    assert again.json() == {"code": -1, "error": "Missing additional authData mfa"}
    with_code = await totp_app.request(
        "POST", "/users", {"authData": {"anonymous": {"id": anonymous_id}, "mfa": {"token": code_at(secret, 0)}}}
    )
    assert with_code.status_code == 200, with_code.text
    assert with_code.json()["objectId"] == user["objectId"]


CODE = re.compile(r"\b(\d{6})\b")


def _texted_code(double: ProviderDouble, to: str) -> str:
    texts = [r.message for r in double.sent if getattr(r.message, "to", None) == to]
    assert texts, f"nothing texted to {to}"
    match = CODE.search(texts[-1].body)  # type: ignore[union-attr]
    assert match
    return match.group(1)


async def test_sms_enrolment_and_login(totp_app: ParseApp, providers: ProviderDouble) -> None:
    username = _name()
    user = {**(await sign_up(totp_app, username, PASSWORD)), "username": username}
    url, session, mobile = f"/users/{user['objectId']}", user["sessionToken"], "+14155550123"
    asked = await totp_app.request("PUT", url, {"authData": {"mfa": {"mobile": mobile}}}, session=session)
    assert asked.status_code == 200, asked.text
    me = await totp_app.request("GET", "/users/me", session=session)
    assert "mfa" not in (me.json().get("authData") or {})  # pending: not enabled yet
    assert (await _login(totp_app, user)).status_code == 200  # a half-enrolled user still logs in
    code = _texted_code(providers, mobile)
    wrong = await totp_app.request(
        "PUT", url, {"authData": {"mfa": {"mobile": mobile, "token": "x" + code}}}, session=session
    )
    assert wrong.json() == {"code": -1, "error": "Invalid MFA token"}
    confirmed = await totp_app.request(
        "PUT", url, {"authData": {"mfa": {"mobile": mobile, "token": code}}}, session=session
    )
    assert confirmed.status_code == 200, confirmed.text
    assert (await _login(totp_app, user)).json() == {"code": -1, "error": "Missing additional authData mfa"}
    requested = await _login(totp_app, user, {"token": "request"})
    assert requested.json() == {"code": 141, "error": "Please enter the token"}
    login_code = _texted_code(providers, mobile)
    assert (await _login(totp_app, user, {"token": login_code})).status_code == 200
    assert (await _login(totp_app, user, {"token": login_code})).json()["code"] == 141  # single use
    # The texted codes never show in the app's message log.
    rows = await sql("SELECT text, sensitive, status FROM messaging_message WHERE source = 'mfa'")
    assert rows
    assert all(text == "" and sensitive and status == "sent" for text, sensitive, status in rows)


async def test_one_recovery_code_cannot_be_spent_by_two_concurrent_changes(totp_app: ParseApp) -> None:
    import asyncio

    user, _, recovery = await _enrolled(totp_app)
    url, session = f"/users/{user['objectId']}", user["sessionToken"]
    secrets_ = [pyotp.random_base32(32) for _ in range(4)]
    answers = await asyncio.gather(
        *(
            totp_app.request(
                "PUT",
                url,
                {"authData": {"mfa": {"secret": s, "token": code_at(s, 0), "old": recovery[0]}}},
                session=session,
            )
            for s in secrets_
        )
    )
    assert sorted(answer.status_code for answer in answers) == [200, 400, 400, 400]
